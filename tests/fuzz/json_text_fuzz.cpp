// Fuzz target: the strict JSON text validator of the HTTP front-end (http/json_text.hpp):
// extract_value (a PUT body), is_json, and append_value (how stored bytes are shown),
// cross-checked with nlohmann::json as an independent parser.
//
// Checked for every input, beyond "no crash, no sanitizer report":
// - is_json and extract_value agree on what is JSON; errors carry a message, success none;
// - nlohmann agrees on what is JSON, except where the two differ on purpose
//   (json_text.hpp, json_text_test.cpp): a byte-order mark, lone surrogate escapes,
//   numbers a double cannot hold, nesting past json_depth_max; and nlohmann takes a NUL
//   byte for the end of its input;
// - an extracted "value" lies inside the body, is JSON, and is the value nlohmann finds
//   under "value"; not_object and missing_value agree with nlohmann's view;
// - append_value of any bytes is JSON and decodes back to exactly those bytes (verbatim,
//   as a string, or as base64); append_json_string of valid UTF-8 decodes back to it.
// Input: the raw text. Run with -max_len=4096.
#include <nlohmann/json.hpp>

#include <string>

#include "fuzz_input.hpp"
#include "http/json_text.hpp"
#include "protocol/utf8.hpp"
#include "tests/support/base64.hpp"

namespace {

using namespace minivault;
using json = nlohmann::json;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/// Why nlohmann and json_text may disagree on `text` (a superset of the real cases).
bool known_difference(std::string_view text) {
  if (text.substr(0, 3) == "\xef\xbb\xbf") return true; // byte-order mark
  // nlohmann ends its input at a NUL byte outside a string ("1\0x" is 1 to it).
  if (text.find('\0') != std::string_view::npos) return true;
  std::size_t opens = 0, digits = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    opens += c == '[' || c == '{';
    digits = is_digit(c) ? digits + 1 : 0;
    if (digits >= 300) return true; // may overflow a double
    if ((c == 'e' || c == 'E') && i > 0 && (is_digit(text[i - 1]) || text[i - 1] == '.'))
      return true; // an exponent: may overflow a double
    if (c == '\\' && i + 2 < text.size() && text[i + 1] == 'u' &&
        (text[i + 2] == 'd' || text[i + 2] == 'D'))
      return true; // a surrogate escape, perhaps lone
  }
  return opens >= http::json_depth_max;
}

/// The string a JSON string literal holds (nlohmann decodes the escapes).
std::string decoded_string(const std::string& literal) {
  json j = json::parse(literal, nullptr, false);
  FUZZ_CHECK(j.is_string());
  return j.get<std::string>();
}

void check_extract(std::string_view text, bool valid, const json& theirs, bool they_accept) {
  http::value_member v = http::extract_value(text);
  const bool invalid =
      v.error == http::body_error::invalid_json || v.error == http::body_error::too_deep;
  FUZZ_CHECK(invalid == !valid);
  FUZZ_CHECK(v.message.empty() == (v.error == http::body_error::none));
  if (v.error != http::body_error::none) {
    FUZZ_CHECK(v.text.empty());
  } else {
    FUZZ_CHECK(v.text.data() >= text.data() &&
               v.text.data() + v.text.size() <= text.data() + text.size());
    FUZZ_CHECK(http::is_json(v.text));
  }
  if (!valid || !they_accept) return;
  if (!theirs.is_object()) {
    FUZZ_CHECK(v.error == http::body_error::not_object);
  } else if (!theirs.contains("value")) {
    FUZZ_CHECK(v.error == http::body_error::missing_value);
  } else if (v.error == http::body_error::none) {
    json mine = json::parse(v.text, nullptr, false);
    FUZZ_CHECK(!mine.is_discarded() && mine == theirs.at("value"));
  } else {
    FUZZ_CHECK(v.error == http::body_error::duplicate_value);
  }
}

void check_append(const std::string& stored) {
  std::string out;
  http::value_encoding enc = http::append_value(out, stored);
  FUZZ_CHECK(http::is_json(out));
  switch (enc) {
  case http::value_encoding::json:
    FUZZ_CHECK(out == stored);
    break;
  case http::value_encoding::string:
    FUZZ_CHECK(valid_utf8(stored) && decoded_string(out) == stored);
    break;
  case http::value_encoding::base64:
    FUZZ_CHECK(!valid_utf8(stored) && test::base64_decode(decoded_string(out)) == stored);
    break;
  }
  if (valid_utf8(stored)) {
    std::string literal;
    http::append_json_string(literal, stored);
    FUZZ_CHECK(http::is_json(literal) && decoded_string(literal) == stored);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(bytes), size);
  const bool valid = http::is_json(text);
  json theirs = json::parse(text, nullptr, false);
  const bool they_accept = !theirs.is_discarded();
  FUZZ_CHECK(valid == they_accept || known_difference(text));
  check_extract(text, valid, theirs, they_accept);
  check_append(text);
  return 0;
}
