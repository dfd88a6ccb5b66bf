#include "base/text.h"

#include <catch2/catch.hpp>

#include <string>

#include <nlohmann/json.hpp>

using namespace hypertune;

TEST_CASE("valid UTF-8 passes unchanged; invalid bytes become U+FFFD", "[base][text]") {
  const std::string good = "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x98\x80";
  CHECK(first_invalid_utf8(good) == std::string::npos);
  CHECK(valid_utf8(good) == good);

  // A lone continuation byte, a truncated sequence, an overlong '/', a surrogate, > U+10FFFF.
  for (const std::string bad : {std::string("a\x80z"), std::string("a\xE2\x9Cz"), std::string("a\xC0\xAFz"),
                                std::string("a\xED\xA0\x80z"), std::string("a\xF4\x90\x80\x80z"),
                                std::string("a\xFFz")}) {
    INFO(nlohmann::json(valid_utf8(bad)).dump());
    CHECK(first_invalid_utf8(bad) == 1);
    const std::string fixed = valid_utf8(bad);
    CHECK(first_invalid_utf8(fixed) == std::string::npos);
    CHECK(fixed.rfind("a\xEF\xBF\xBD", 0) == 0);
    CHECK(fixed.back() == 'z');
    CHECK_NOTHROW(nlohmann::json(fixed).dump());
  }
}

TEST_CASE("truncation keeps whole characters and says how much was cut", "[base][text]") {
  const std::string text = std::string(10, 'x') + "\xC3\xA9" + std::string(100, 'y');
  const std::string cut = valid_utf8(text, 11);  // would split the two-byte character
  CHECK(cut == std::string(10, 'x') + " ... [102 more bytes]");
  CHECK(valid_utf8(text, 1000) == text);
  const std::string mib(1 << 20, '\xFF');
  const std::string reason = valid_utf8(mib, kMaxReasonBytes);
  CHECK(reason.size() < kMaxReasonBytes + 40);
  CHECK(first_invalid_utf8(reason) == std::string::npos);
}

TEST_CASE("printable escapes control characters so log lines cannot be forged", "[base][text]") {
  CHECK(printable("worker\n[error] forged\x1b[31m") == "worker\\n[error] forged\\x1b[31m");
  CHECK(printable("tab\there") == "tab\\there");
  CHECK(printable(std::string(300, 'a')).size() < 300);
}

TEST_CASE("json_depth counts containers, iteratively", "[base][text]") {
  CHECK(json_depth(nlohmann::json(1)) == 0);
  CHECK(json_depth(nlohmann::json::object()) == 1);
  CHECK(json_depth(nlohmann::json{{"a", {1, {2}}}}) == 3);
  nlohmann::json deep = 0;
  for (int i = 0; i < 100000; ++i) deep = nlohmann::json::array({std::move(deep)});
  CHECK(json_depth(deep) == 100000);
}
