#include "pipelines/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

namespace hypertune::pipelines {

namespace {

// gzopen reads plain files transparently, so one reader serves both.
struct GzCloser {
  void operator()(gzFile f) const noexcept { gzclose(f); }
};
using GzFile = std::unique_ptr<std::remove_pointer_t<gzFile>, GzCloser>;

std::string name_of(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

void read_exact(gzFile f, void* buf, size_t n, const std::string& path, const char* what) {
  auto* p = static_cast<unsigned char*>(buf);
  while (n > 0) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n, 1u << 30));
    const int got = gzread(f, p, chunk);
    if (got < 0) {
      int err = 0;
      const char* msg = gzerror(f, &err);
      throw ConfigError(name_of(path), std::string("cannot decompress ") + what + ": " + msg);
    }
    if (got == 0)
      throw ConfigError(name_of(path), std::string("truncated file: ") + what + " ends early");
    p += got;
    n -= static_cast<size_t>(got);
  }
}

}  // namespace

int64_t IdxArray::item_size() const {
  int64_t n = 1;
  for (size_t i = 1; i < dims.size(); ++i) n *= dims[i];
  return n;
}

IdxArray read_idx(const std::string& path, int64_t limit) {
  GzFile f(gzopen(path.c_str(), "rb"));
  if (!f) throw ConfigError(path, std::string("cannot open IDX file: ") + std::strerror(errno));
  gzbuffer(f.get(), 1 << 17);
  unsigned char magic[4];
  read_exact(f.get(), magic, 4, path, "the header");
  if (magic[0] != 0 || magic[1] != 0)
    throw ConfigError(name_of(path),
                      "not an IDX file: the magic number must start with two zero bytes");
  if (magic[2] != 0x08)
    throw ConfigError(name_of(path), "unsupported IDX element type 0x" +
                                         std::to_string(static_cast<int>(magic[2])) +
                                         " (only 0x08, unsigned byte, is read)");
  const int ndims = magic[3];
  if (ndims < 1 || ndims > 4)
    throw ConfigError(name_of(path),
                      "IDX dimension count must be 1 to 4, got " + std::to_string(ndims));
  IdxArray a;
  for (int d = 0; d < ndims; ++d) {
    unsigned char b[4];
    read_exact(f.get(), b, 4, path, "the dimensions");
    const uint32_t v =
        (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
    if (v == 0) throw ConfigError(name_of(path), "dimension " + std::to_string(d) + " is zero");
    a.dims.push_back(v);
  }
  const int64_t stored = a.dims[0];
  if (limit >= 0 && limit < a.dims[0]) a.dims[0] = limit;
  const int64_t item = a.item_size();
  if (item > (int64_t{1} << 31) / std::max<int64_t>(1, a.dims[0]))
    throw ConfigError(name_of(path), "IDX data too large to load");
  a.data.resize(static_cast<size_t>(a.dims[0] * item));
  read_exact(f.get(), a.data.data(), a.data.size(), path, "the data");
  if (a.dims[0] == stored) {
    unsigned char extra;
    if (gzread(f.get(), &extra, 1) > 0)
      throw ConfigError(name_of(path), "the file holds more bytes than its dimensions say");
  }
  return a;
}

void write_idx(const std::string& path, const IdxArray& array, bool gzip) {
  GzFile f(gzopen(path.c_str(), gzip ? "wb6" : "wbT"));
  if (!f) throw Error("cannot write IDX file '" + path + "'");
  std::vector<unsigned char> head = {0, 0, 0x08, static_cast<unsigned char>(array.dims.size())};
  for (const int64_t d : array.dims) {
    const auto v = static_cast<uint32_t>(d);
    head.insert(head.end(),
                {static_cast<unsigned char>(v >> 24), static_cast<unsigned char>(v >> 16),
                 static_cast<unsigned char>(v >> 8), static_cast<unsigned char>(v)});
  }
  if (gzwrite(f.get(), head.data(), static_cast<unsigned>(head.size())) !=
          static_cast<int>(head.size()) ||
      (!array.data.empty() &&
       gzwrite(f.get(), array.data.data(), static_cast<unsigned>(array.data.size())) !=
           static_cast<int>(array.data.size())))
    throw Error("write failed for IDX file '" + path + "'");
  if (gzclose(f.release()) != Z_OK) throw Error("cannot finish IDX file '" + path + "'");
}

}  // namespace hypertune::pipelines
