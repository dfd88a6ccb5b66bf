#pragma once
// Text that is stored or logged must be valid UTF-8 (SQLite text, JSON export, terminals) and
// bounded. One implementation for every layer.
// Thread-safety: pure functions.

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace hypertune {

// The longest fail reason a study stores (bytes, before the truncation note).
inline constexpr size_t kMaxReasonBytes = 4096;

// Nesting depth of a JSON payload (metrics, params, the trial section) that every layer accepts.
// Runners refuse a deeper report as a trial failure, so the wire codec (protocol::kMaxDepth
// counts 4 more levels: envelope, body, field) never has to drop one.
inline constexpr int kMaxPayloadDepth = 60;

// `text` with every invalid UTF-8 sequence replaced by U+FFFD, cut at a character boundary
// to at most `max_bytes` bytes plus a note "... [N more bytes]".
[[nodiscard]] std::string valid_utf8(std::string_view text, size_t max_bytes = std::string::npos);

// The byte offset of the first invalid UTF-8 sequence, or npos when `text` is valid.
[[nodiscard]] size_t first_invalid_utf8(std::string_view text) noexcept;

// Nesting depth of a JSON value: a scalar is 0, {} and [] are 1, {"a": [1]} is 2. Iterative.
[[nodiscard]] int json_depth(const nlohmann::json& value);

// `text` for a log line: control characters (newline, ESC, ...) escaped as \n, \x1b, so that a
// peer-supplied name cannot forge or recolour lines; invalid UTF-8 replaced.
[[nodiscard]] std::string printable(std::string_view text, size_t max_bytes = 256);

}  // namespace hypertune
