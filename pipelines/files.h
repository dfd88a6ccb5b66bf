#pragma once
// Small file helpers shared by the pipeline modules.
//
// Writes are atomic: the bytes go to "<path>.tmp" first, then a rename replaces <path>, so a reader
// (or a resumed trial after a crash) never sees half a checkpoint or half an export.
// Not here: formats. Thread-safety: safe for distinct paths.
// Errors: read_file throws ConfigError naming the path (it reads user data); the writers throw
// Error with the path and the system's reason.

#include <string>
#include <vector>

#include "base/error.h"

namespace hypertune::pipelines {

[[nodiscard]] std::string read_file(const std::string& path);
[[nodiscard]] std::vector<char> read_bytes(const std::string& path);

void write_bytes_atomic(const std::string& path, const std::vector<char>& bytes);
void write_text_atomic(const std::string& path, const std::string& text);

}  // namespace hypertune::pipelines
