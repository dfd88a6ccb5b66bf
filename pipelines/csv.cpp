#include "pipelines/csv.h"

#include "base/text.h"

#include <algorithm>
#include <cstdio>

#include <filesystem>
#include <unordered_set>

#include "pipelines/files.h"

namespace hypertune::pipelines {

namespace {

std::string base_name(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

}  // namespace

std::optional<size_t> CsvTable::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return i;
  return std::nullopt;
}

std::string CsvTable::where(size_t row, size_t col) const {
  std::string w = source;
  if (row < lines.size()) w += " line " + std::to_string(lines[row]);
  if (col < header.size()) w += " column '" + header[col] + "'";
  return w;
}

CsvTable parse_csv(const std::string& text, const std::string& source) {
  CsvTable t;
  t.source = source;
  size_t i = 0;
  const size_t n = text.size();
  if (n >= 3 && text.compare(0, 3, "\xEF\xBB\xBF") == 0) i = 3;
  int64_t line = 1;
  // Values travel as JSON and are stored as text: other encodings are refused here, by line.
  if (const size_t bad = first_invalid_utf8(text); bad < n) {
    const size_t line_start = text.rfind('\n', bad == 0 ? 0 : bad - 1);
    const int64_t bad_line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(bad), '\n');
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02x", static_cast<unsigned char>(text[bad]));
    const size_t column = line_start == std::string::npos || bad == 0 ? bad + 1 : bad - line_start;
    throw ConfigError(source + " line " + std::to_string(bad_line),
                      std::string("byte ") + byte + " at column " + std::to_string(column) +
                          " is not UTF-8; save the file as UTF-8 (for Latin-1: iconv -f latin1 -t utf-8)");
  }

  std::vector<std::string> record;
  std::string field;
  bool header_done = false;

  // One pass, one record at a time; `line` counts every LF so errors point at the real line even
  // when quoted fields span several lines.
  while (i < n) {
    const int64_t record_line = line;
    record.clear();
    // Skip blank lines between records.
    if (text[i] == '\n' || text[i] == '\r') {
      if (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n') ++i;
      ++i;
      ++line;
      continue;
    }
    bool end_of_record = false;
    while (!end_of_record) {
      field.clear();
      if (i < n && text[i] == '"') {
        const int64_t quote_line = line;
        ++i;
        for (;;) {
          if (i >= n)
            throw ConfigError(source + " line " + std::to_string(quote_line),
                              "unterminated quoted field (a '\"' opened here is never closed)");
          const char c = text[i];
          if (c == '"') {
            if (i + 1 < n && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (c == '\n') ++line;
          field += c;
          ++i;
        }
        if (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r')
          throw ConfigError(source + " line " + std::to_string(line),
                            "unexpected character '" + std::string(1, text[i]) +
                                "' after a closing quote (field " +
                                std::to_string(record.size() + 1) +
                                "); a quote inside a quoted field is written as \"\"");
      } else {
        while (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          if (text[i] == '"')
            throw ConfigError(source + " line " + std::to_string(line),
                              "a '\"' inside an unquoted field (field " +
                                  std::to_string(record.size() + 1) + "); quote the whole field");
          field += text[i++];
        }
      }
      record.push_back(field);
      if (i >= n) {
        end_of_record = true;
      } else if (text[i] == ',') {
        ++i;
      } else {
        if (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n') ++i;
        ++i;
        ++line;
        end_of_record = true;
      }
    }
    if (!header_done) {
      std::unordered_set<std::string> seen;
      for (size_t c = 0; c < record.size(); ++c) {
        if (record[c].empty())
          throw ConfigError(
              source + " line " + std::to_string(record_line),
              "header field " + std::to_string(c + 1) + " is empty; every column needs a name");
        if (!seen.insert(record[c]).second)
          throw ConfigError(source + " line " + std::to_string(record_line),
                            "duplicate column name '" + record[c] + "' in the header");
      }
      t.header = record;
      header_done = true;
      continue;
    }
    if (record.size() != t.header.size())
      throw ConfigError(source + " line " + std::to_string(record_line),
                        "ragged row: expected " + std::to_string(t.header.size()) +
                            " fields as in the header, got " + std::to_string(record.size()));
    t.rows.push_back(record);
    t.lines.push_back(record_line);
  }
  if (!header_done) throw ConfigError(source, "empty file: expected a header row");
  return t;
}

CsvTable read_csv(const std::string& path) { return parse_csv(read_file(path), base_name(path)); }

std::string csv_field(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (const char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

void write_csv(const std::string& path, const std::vector<std::string>& header,
               const std::vector<std::vector<std::string>>& rows) {
  std::string text;
  auto add_row = [&](const std::vector<std::string>& r) {
    for (size_t c = 0; c < r.size(); ++c) {
      if (c) text += ',';
      text += csv_field(r[c]);
    }
    text += '\n';
  };
  add_row(header);
  for (const auto& r : rows) add_row(r);
  write_text_atomic(path, text);
}

}  // namespace hypertune::pipelines
