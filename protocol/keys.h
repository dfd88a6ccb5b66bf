#pragma once
// CurveZMQ keys as the scheduler and workers keep them: Z85 text (40 characters for 32 bytes).
//
// Files (written by `hypertune keygen NAME`):
//   NAME.key  the secret key, mode 0600:   "# hypertune CURVE secret key ..." lines, then the key
//   NAME.pub  the public key:              "# hypertune CURVE public key ..." lines, then the key
// Blank lines and lines starting with '#' are ignored when reading (no Z85 key starts with '#'). An allow list is a directory
// (every *.pub file in it, one key each) or a file with one public key per line.
// A key option may also carry the key itself instead of a path (a 40-character Z85 string that is
// not the name of an existing file): that is how keys arrive from environment variables / Secrets.
//
// Contract: reading never accepts a malformed key: a bad key is a ConfigError naming the file
// (and line) and what was expected. Nothing here talks to the network.
// Thread-safety: pure functions (the file system aside).

#include <set>
#include <string>

namespace hypertune::protocol {

inline constexpr size_t kZ85KeyLength = 40;

struct KeyPair {
  std::string public_z85;
  std::string secret_z85;
};

// True when libzmq was built with CURVE support.
[[nodiscard]] bool curve_available() noexcept;

// A fresh key pair. Throws hypertune::Error when libzmq lacks CURVE.
[[nodiscard]] KeyPair generate_keypair();

// The public key belonging to a secret key. Throws ConfigError for a malformed secret.
[[nodiscard]] std::string public_key_of(const std::string& secret_z85);

// Whether `text` is a well-formed Z85 key (40 characters that decode to 32 bytes).
[[nodiscard]] bool is_z85_key(const std::string& text) noexcept;

// Writes DIR/NAME.key (0600, created exclusively: an existing file is never overwritten) and
// DIR/NAME.pub; returns the pair. Throws ConfigError when a file exists, Error on I/O failure.
KeyPair write_keypair(const std::string& dir, const std::string& name);

// A secret key from a file, or the key itself (see above); the public key is derived.
// `what` names the option in errors ("--keys"). Throws ConfigError.
[[nodiscard]] KeyPair load_secret_key(const std::string& path_or_key, const std::string& what);

// A public key from a file, or the key itself. Throws ConfigError.
[[nodiscard]] std::string load_public_key(const std::string& path_or_key, const std::string& what);

// Public keys allowed to connect: a directory of *.pub files, a file of keys, or keys themselves
// separated by commas or whitespace. An empty list is an error (nobody could connect).
// Throws ConfigError naming the file and line of a bad key.
[[nodiscard]] std::set<std::string> load_allow_list(const std::string& path_or_keys, const std::string& what);

}  // namespace hypertune::protocol
