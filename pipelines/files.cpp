#include "pipelines/files.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace hypertune::pipelines {

namespace {

void write_atomic(const std::string& path, const char* data, size_t size) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot write '" + tmp + "': " + std::strerror(errno));
    out.write(data, static_cast<std::streamsize>(size));
    out.flush();
    if (!out) throw Error("write failed for '" + tmp + "': " + std::strerror(errno));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw Error("cannot rename '" + tmp + "' to '" + path + "': " + ec.message());
}

}  // namespace

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path, std::string("cannot open file: ") + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw ConfigError(path, "read error");
  return std::move(ss).str();
}

std::vector<char> read_bytes(const std::string& path) {
  const std::string text = read_file(path);
  return {text.begin(), text.end()};
}

void write_bytes_atomic(const std::string& path, const std::vector<char>& bytes) {
  write_atomic(path, bytes.data(), bytes.size());
}

void write_text_atomic(const std::string& path, const std::string& text) {
  write_atomic(path, text.data(), text.size());
}

}  // namespace hypertune::pipelines
