#include "protocol/keys.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <fstream>

#include "base/error.h"
#include "support/temp_dir.h"

using namespace hypertune;
using namespace hypertune::protocol;

namespace {

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

}  // namespace

TEST_CASE("keygen writes a private secret key and its public key, never overwriting", "[keys]") {
  if (!curve_available()) {
    WARN("libzmq without CURVE: skipped");
    return;
  }
  test::TempDir dir("keys");
  const std::string sub = dir.file("nested/keys");
  const KeyPair kp = write_keypair(sub, "worker-01");
  CHECK(is_z85_key(kp.public_z85));
  CHECK(is_z85_key(kp.secret_z85));
  CHECK(kp.public_z85 != kp.secret_z85);

  struct stat st {};
  REQUIRE(::stat((sub + "/worker-01.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat((sub + "/worker-01.pub").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0644);

  // Reading back: the secret gives the same public key; the .pub holds it.
  const KeyPair loaded = load_secret_key(sub + "/worker-01.key", "--keys");
  CHECK(loaded.secret_z85 == kp.secret_z85);
  CHECK(loaded.public_z85 == kp.public_z85);
  CHECK(load_public_key(sub + "/worker-01.pub", "--server-key") == kp.public_z85);
  CHECK(public_key_of(kp.secret_z85) == kp.public_z85);

  CHECK_THROWS_WITH(write_keypair(sub, "worker-01"), Catch::Contains("already exists"));
  CHECK(load_secret_key(sub + "/worker-01.key", "--keys").secret_z85 == kp.secret_z85);  // untouched
  CHECK_THROWS_AS(write_keypair(sub, "../escape"), ConfigError);
}

TEST_CASE("keys may be given inline, as environment variables carry them", "[keys]") {
  if (!curve_available()) {
    WARN("libzmq without CURVE: skipped");
    return;
  }
  const KeyPair kp = generate_keypair();
  CHECK(load_secret_key(kp.secret_z85, "HYPERTUNE_KEYS").public_z85 == kp.public_z85);
  CHECK(load_public_key(kp.public_z85, "HYPERTUNE_SERVER_KEY") == kp.public_z85);
  const KeyPair other = generate_keypair();
  const auto allowed = load_allow_list(kp.public_z85 + "," + other.public_z85, "HYPERTUNE_ALLOW");
  CHECK(allowed == std::set<std::string>{kp.public_z85, other.public_z85});
  const auto spaced = load_allow_list(kp.public_z85 + "  \n" + other.public_z85, "--allow");
  CHECK(spaced.size() == 2);
}

TEST_CASE("allow lists come from a directory of .pub files or a file of keys", "[keys]") {
  if (!curve_available()) {
    WARN("libzmq without CURVE: skipped");
    return;
  }
  test::TempDir dir("allow");
  const auto a = write_keypair(dir.file("pubs"), "a");
  const auto b = write_keypair(dir.file("pubs"), "b");
  write(dir.file("pubs/readme.txt"), "not a key, and not a .pub file\n");
  CHECK(load_allow_list(dir.file("pubs"), "--allow") == std::set<std::string>{a.public_z85, b.public_z85});

  write(dir.file("list.txt"), "# workers of team A\n\n" + a.public_z85 + "\n  " + b.public_z85 + "  \n");
  CHECK(load_allow_list(dir.file("list.txt"), "--allow") == std::set<std::string>{a.public_z85, b.public_z85});
  // No key starts with '#' (a Z85 group's first digit is at most 82 of 84), so '#' marks comments.
  for (int i = 0; i < 200; ++i) CHECK(generate_keypair().public_z85[0] != '#');
}

TEST_CASE("malformed keys are refused, naming the file, line and what was expected", "[keys]") {
  test::TempDir dir("badkeys");
  write(dir.file("bad.pub"), "# comment\nthis-is-not-a-key\n");
  CHECK_THROWS_WITH(load_public_key(dir.file("bad.pub"), "--server-key"),
                    Catch::Contains(dir.file("bad.pub") + ":2") && Catch::Contains("40 characters"));
  write(dir.file("two.pub"), std::string(40, '0') + "\n" + std::string(40, '1') + "\n");
  CHECK_THROWS_WITH(load_public_key(dir.file("two.pub"), "--server-key"), Catch::Contains("exactly one key, found 2"));
  write(dir.file("empty.txt"), "# nothing here\n");
  CHECK_THROWS_WITH(load_allow_list(dir.file("empty.txt"), "--allow"), Catch::Contains("holds no keys"));
  std::filesystem::create_directories(dir.file("emptydir"));
  CHECK_THROWS_WITH(load_allow_list(dir.file("emptydir"), "--allow"), Catch::Contains("no *.pub key files"));
  CHECK_THROWS_WITH(load_secret_key(dir.file("missing.key"), "--keys"),
                    Catch::Contains("--keys") && Catch::Contains("neither a readable key file"));
  CHECK_THROWS_WITH(load_allow_list("short,keys", "--allow"), Catch::Contains("'short'"));
  CHECK_FALSE(is_z85_key(std::string(39, 'a')));
  CHECK_FALSE(is_z85_key(std::string(40, '"')));  // '"' is not a Z85 digit
  CHECK(is_z85_key(std::string(40, '0')));
}
