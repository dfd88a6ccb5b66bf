#pragma once
// IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed.
//
// Layout: two zero bytes, a type byte (0x08: unsigned byte, the only type read here), a byte with
// the number of dimensions, then each dimension as a big-endian uint32, then the data. A file that
// starts with the gzip magic (1f 8b) is decompressed on the fly (zlib).
//
// Not here: normalisation (pipelines/dataset.h does it), other element types.
// Thread-safety: pure functions.
// Errors: ConfigError naming the file: bad magic, unsupported type, truncated or oversized data.

#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"

namespace hypertune::pipelines {

struct IdxArray {
  std::vector<int64_t> dims;  // e.g. {60000, 28, 28} or {60000}
  std::vector<uint8_t> data;  // row-major, product(dims) bytes

  [[nodiscard]] int64_t count() const { return dims.empty() ? 0 : dims[0]; }
  // Elements per item (product of dims after the first).
  [[nodiscard]] int64_t item_size() const;
};

// Reads at most `limit` items (all when negative) of an IDX file.
[[nodiscard]] IdxArray read_idx(const std::string& path, int64_t limit = -1);

// Writes an IDX (unsigned byte) file, gzip-compressed when `gzip` (used by tests and tools).
void write_idx(const std::string& path, const IdxArray& array, bool gzip);

}  // namespace hypertune::pipelines
