#pragma once
// CSV files as tables of strings (RFC 4180), and writing them back.
//
// Reading: the first record is the header; fields may be quoted with '"' (a doubled quote inside
// stands for one quote; quoted fields may hold commas and line breaks); CRLF and LF line ends and a
// UTF-8 byte-order mark are accepted; blank lines are skipped. An empty field (quoted or not) is a
// missing value. Every record must have as many fields as the header.
//
// Not here: typing columns or any preprocessing (pipelines/tabular.h).
// Thread-safety: pure functions; a CsvTable is a plain value.
// Errors: ConfigError whose `where` names the file and line ("letter.csv line 17"): empty file,
// ragged record, unterminated quote, text after a closing quote, empty or duplicate header names.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"

namespace hypertune::pipelines {

struct CsvTable {
  std::string source;  // file name used in error messages
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // rows[r][c]; "" is missing
  std::vector<int64_t> lines;                  // line number (1-based) where each row starts

  [[nodiscard]] std::optional<size_t> column(const std::string& name) const;
  // "letter.csv line 17 column 'x3'" for error messages.
  [[nodiscard]] std::string where(size_t row, size_t col) const;
};

// Parses CSV text; `source` names it in errors.
[[nodiscard]] CsvTable parse_csv(const std::string& text, const std::string& source);
// Reads and parses a file. Throws ConfigError when it cannot be read.
[[nodiscard]] CsvTable read_csv(const std::string& path);

// One field as RFC 4180 writes it: quoted only when it holds a comma, quote, CR or LF.
[[nodiscard]] std::string csv_field(const std::string& value);
// Writes header + rows to `path` atomically (pipelines/files.h). Throws Error on I/O failure.
void write_csv(const std::string& path, const std::vector<std::string>& header,
               const std::vector<std::vector<std::string>>& rows);

}  // namespace hypertune::pipelines
