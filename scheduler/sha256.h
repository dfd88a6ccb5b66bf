#pragma once
// SHA-256 (FIPS 180-4), used to fingerprint config files stored with a study.
//
// Not here: HMAC, key derivation, or anything security-critical beyond a content hash.
// Thread-safety: a Sha256 object is used by one thread; sha256_hex() is reentrant.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace hypertune::scheduler {

class Sha256 {
 public:
  Sha256() noexcept;
  // Feeds more bytes; may be called any number of times before digest().
  void update(std::string_view bytes) noexcept;
  // Finishes and returns the 32-byte digest. The object is reset afterwards.
  [[nodiscard]] std::array<uint8_t, 32> digest() noexcept;

 private:
  void compress(const uint8_t* block) noexcept;
  void reset() noexcept;

  std::array<uint32_t, 8> h_{};
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

// Lower-case hex SHA-256 of `bytes` (64 characters).
[[nodiscard]] std::string sha256_hex(std::string_view bytes);

}  // namespace hypertune::scheduler
