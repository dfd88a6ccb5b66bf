#pragma once
// The project's one exception hierarchy for configuration and programmer errors.
// I/O and network paths return results that carry their cause instead of throwing.

#include <stdexcept>
#include <string>

namespace hypertune {

// Base of every exception HyperTune throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A user-supplied value is wrong (config file, search space, command line, data file).
// `where` names the place: "sweep.yaml:12:5 space.lr.low" or "letter.csv row 17 column 'x3'".
class ConfigError : public Error {
 public:
  ConfigError(std::string where, const std::string& what)
      : Error(where.empty() ? what : where + ": " + what), where_(std::move(where)), what_(what) {}
  [[nodiscard]] const std::string& where() const noexcept { return where_; }
  [[nodiscard]] const std::string& detail() const noexcept { return what_; }

 private:
  std::string where_;
  std::string what_;
};

}  // namespace hypertune
