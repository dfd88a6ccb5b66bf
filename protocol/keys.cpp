#include "protocol/keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <zmq.h>

#include "base/error.h"

namespace hypertune::protocol {

namespace fs = std::filesystem;

bool curve_available() noexcept { return zmq_has("curve") != 0; }

bool is_z85_key(const std::string& text) noexcept {
  if (text.size() != kZ85KeyLength) return false;
  uint8_t raw[32];
  return zmq_z85_decode(raw, text.c_str()) != nullptr;
}

KeyPair generate_keypair() {
  if (!curve_available()) throw Error("this libzmq was built without CURVE support: cannot make keys");
  char pub[kZ85KeyLength + 1];
  char sec[kZ85KeyLength + 1];
  if (zmq_curve_keypair(pub, sec) != 0) {
    throw Error(std::string("zmq_curve_keypair failed: ") + zmq_strerror(zmq_errno()));
  }
  return {pub, sec};
}

std::string public_key_of(const std::string& secret_z85) {
  if (!is_z85_key(secret_z85)) {
    throw ConfigError("", "not a Z85 CURVE key (expected 40 characters of Z85 text)");
  }
  char pub[kZ85KeyLength + 1];
  if (zmq_curve_public(pub, secret_z85.c_str()) != 0) {
    throw Error(std::string("zmq_curve_public failed: ") + zmq_strerror(zmq_errno()));
  }
  return pub;
}

namespace {

void write_file(const fs::path& path, const std::string& text, mode_t mode) {
  // O_EXCL: never overwrite a key someone relies on; mode set at creation, so the secret is never
  // readable by others even for an instant.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) {
      throw ConfigError(path.string(), "already exists; refusing to overwrite a key (remove it first)");
    }
    throw Error("cannot create " + path.string() + ": " + std::strerror(errno));
  }
  ::fchmod(fd, mode);  // the umask may have removed bits we want (0644 for .pub)
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw Error("cannot write " + path.string() + ": " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    throw Error("cannot write " + path.string() + ": " + std::strerror(errno));
  }
}

struct KeyLine {
  std::string key;
  int line = 0;
};

std::vector<KeyLine> key_lines(const fs::path& path, const std::string& what) {
  std::ifstream in(path);
  if (!in) throw ConfigError(what + " " + path.string(), "cannot be read");
  std::vector<KeyLine> out;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const auto first = line.find_first_not_of(" \t\r");
    // '#' is a Z85 digit, but never the first of a key's (a group's first digit is at most 82).
    if (first == std::string::npos || line[first] == '#') continue;
    const auto last = line.find_last_not_of(" \t\r");
    std::string key = line.substr(first, last - first + 1);
    if (!is_z85_key(key)) {
      throw ConfigError(path.string() + ":" + std::to_string(number),
                        "not a Z85 CURVE key (expected 40 characters of Z85 text, got " +
                            std::to_string(key.size()) + " characters)");
    }
    out.push_back({std::move(key), number});
  }
  return out;
}

std::string single_key(const std::string& path_or_key, const std::string& what) {
  std::error_code ec;
  if (!fs::exists(path_or_key, ec)) {
    if (is_z85_key(path_or_key)) return path_or_key;
    throw ConfigError(what, "'" + path_or_key + "' is neither a readable key file nor a 40-character Z85 key");
  }
  auto keys = key_lines(path_or_key, what);
  if (keys.size() != 1) {
    throw ConfigError(what + " " + path_or_key,
                      "expected exactly one key, found " + std::to_string(keys.size()));
  }
  return keys.front().key;
}

}  // namespace

KeyPair write_keypair(const std::string& dir, const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos) {
    throw ConfigError("keygen NAME", "'" + name + "' is not a plain file name");
  }
  KeyPair kp = generate_keypair();
  std::error_code ec;
  fs::create_directories(dir.empty() ? "." : dir, ec);
  const fs::path base = fs::path(dir.empty() ? "." : dir);
  const fs::path secret = base / (name + ".key");
  const fs::path pub = base / (name + ".pub");
  if (fs::exists(pub, ec)) {
    throw ConfigError(pub.string(), "already exists; refusing to overwrite a key (remove it first)");
  }
  write_file(secret, "# hypertune CURVE secret key '" + name + "': keep private (mode 0600)\n" + kp.secret_z85 + "\n",
             0600);
  write_file(pub, "# hypertune CURVE public key '" + name + "'\n" + kp.public_z85 + "\n", 0644);
  return kp;
}

KeyPair load_secret_key(const std::string& path_or_key, const std::string& what) {
  std::string secret = single_key(path_or_key, what);
  try {
    return {public_key_of(secret), std::move(secret)};
  } catch (const ConfigError& e) {
    throw ConfigError(what, e.detail());
  }
}

std::string load_public_key(const std::string& path_or_key, const std::string& what) {
  return single_key(path_or_key, what);
}

std::set<std::string> load_allow_list(const std::string& path_or_keys, const std::string& what) {
  std::set<std::string> keys;
  std::error_code ec;
  const fs::path p(path_or_keys);
  if (fs::is_directory(p, ec)) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(p, ec)) {
      if (entry.path().extension() == ".pub") files.push_back(entry.path());
    }
    for (const auto& f : files) {
      auto lines = key_lines(f, what);
      if (lines.size() != 1) {
        throw ConfigError(what + " " + f.string(), "expected exactly one key, found " + std::to_string(lines.size()));
      }
      keys.insert(lines.front().key);
    }
    if (keys.empty()) throw ConfigError(what + " " + p.string(), "holds no *.pub key files");
    return keys;
  }
  if (fs::exists(p, ec)) {
    for (auto& kl : key_lines(p, what)) keys.insert(std::move(kl.key));
    if (keys.empty()) throw ConfigError(what + " " + p.string(), "holds no keys");
    return keys;
  }
  // The keys themselves, separated by commas or whitespace.
  std::string token;
  std::istringstream in(path_or_keys);
  std::string chunk;
  while (in >> chunk) {
    std::istringstream parts(chunk);
    while (std::getline(parts, token, ',')) {
      if (token.empty()) continue;
      if (!is_z85_key(token)) {
        throw ConfigError(what, "'" + token + "' is neither an existing file or directory nor a 40-character Z85 key");
      }
      keys.insert(token);
    }
  }
  if (keys.empty()) throw ConfigError(what, "no public keys given");
  return keys;
}

}  // namespace hypertune::protocol
