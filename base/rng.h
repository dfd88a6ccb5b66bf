#pragma once
// Deterministic random numbers: the search algorithms, trial seeds, data splits and shuffles.
//
// The standard <random> distributions are implementation-defined, so a seed would not give the same
// trials on another standard library. This generator (xoshiro256**, seeded through splitmix64) and its
// transforms are fully specified here: the same seed gives the same numbers everywhere.
// Not thread-safe: one Rng per thread / per sampling call.

#include <cmath>
#include <cstdint>
#include <numbers>

namespace hypertune {

[[nodiscard]] inline uint64_t splitmix64(uint64_t& state) noexcept {
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Mixes a study seed and a trial number into an independent per-trial seed.
[[nodiscard]] inline uint64_t derive_seed(uint64_t seed, uint64_t salt) noexcept {
  uint64_t s = seed ^ (salt * 0xD1B54A32D192ED03ULL);
  (void)splitmix64(s);
  return splitmix64(s);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) noexcept {
    uint64_t s = seed;
    for (auto& word : s_) word = splitmix64(s);
  }

  [[nodiscard]] uint64_t next() noexcept {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  [[nodiscard]] double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  // Uniform in [lo, hi).
  [[nodiscard]] double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }

  // Uniform integer in [0, n); n > 0. Lemire's unbiased multiply-shift.
  [[nodiscard]] uint64_t below(uint64_t n) noexcept {
    __uint128_t m = static_cast<__uint128_t>(next()) * n;
    auto low = static_cast<uint64_t>(m);
    if (low < n) {
      const uint64_t threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<__uint128_t>(next()) * n;
        low = static_cast<uint64_t>(m);
      }
    }
    return static_cast<uint64_t>(m >> 64);
  }

  // Standard normal (Box-Muller; one value per call keeps the stream simple to reason about).
  [[nodiscard]] double normal() noexcept {
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

 private:
  static uint64_t rotl(uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4]{};
};

}  // namespace hypertune
