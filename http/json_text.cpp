// One strict JSON reader serves both is_json and extract_value. It is a loop over three
// steps (value, member, after_value) with the open containers kept in a fixed bitset rather
// than on the C stack, so a body of 100k '[' costs nothing but a too_deep reply. It checks
// grammar only: values are never decoded or converted, which is what lets the front-end
// store and show them byte-for-byte. extract_value differs only by a `capture` that notes
// where the top-level "value" member's text starts and ends.
#include "http/json_text.hpp"

#include <array>
#include <bitset>
#include <cstring>

#include "protocol/assert.hpp"
#include "protocol/utf8.hpp"

namespace minivault::http {
namespace {

constexpr bool is_ws(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
constexpr bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

// The one-letter escapes \" \\ \/ \b \f \n \r \t: letter k stands for character k.
constexpr std::string_view escape_letters = "\"\\/bfnrt";
constexpr std::string_view escaped_chars = "\"\\/\b\f\n\r\t";

constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Bytes that stand for themselves in a JSON string in both directions: printable ASCII
// (0x7F included) other than '"' and '\'. Reading and writing both skip runs of them.
constexpr std::array<bool, 256> make_plain_table() {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c)
    t[c] = c != '"' && c != '\\';
  return t;
}
constexpr std::array<bool, 256> plain_byte = make_plain_table();

constexpr bool plain(char c) noexcept {
  return plain_byte[static_cast<unsigned char>(c)];
}

/// Where extract_value's top-level "value" member is; the reader fills it as it goes.
struct capture {
  const char* start = nullptr; ///< first byte of the member's value, null until seen
  const char* end = nullptr;   ///< one past its last byte, null until the value ends
  bool duplicate = false;      ///< a second top-level "value" member was seen
};

/// Compares a string's decoded content with `value`, one piece at a time, without
/// decoding into a buffer.
class name_match {
public:
  void bytes(const char* p, std::size_t n) noexcept {
    ok_ = ok_ && n <= name_.size() - pos_ && std::memcmp(p, name_.data() + pos_, n) == 0;
    if (ok_) pos_ += n;
  }
  void code_unit(unsigned u) noexcept {
    ok_ = ok_ && pos_ < name_.size() && u == static_cast<unsigned char>(name_[pos_]);
    if (ok_) ++pos_;
  }
  void mismatch() noexcept { ok_ = false; }
  bool matched() const noexcept { return ok_ && pos_ == name_.size(); }

private:
  static constexpr std::string_view name_ = "value";
  std::size_t pos_ = 0;
  bool ok_ = true;
};

enum class step : std::uint8_t { value, member, after_value, done, failed };

class reader {
public:
  reader(std::string_view text, capture* cap) noexcept
      : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()), cap_(cap) {}

  /// True if the whole text is exactly one JSON value with whitespace around it.
  bool run() noexcept {
    skip_ws();
    if (p_ == end_) return refuse(p_, "empty document");
    top_is_object_ = *p_ == '{';
    for (step s = step::value; s != step::done;) {
      if (s == step::failed) return false;
      s = s == step::value ? value() : s == step::member ? member() : after_value();
    }
    skip_ws();
    if (p_ != end_) return refuse(p_, "unexpected data after the JSON value");
    return true;
  }

  bool top_is_object() const noexcept { return top_is_object_; }
  std::size_t error_offset() const noexcept { return error_offset_; }
  const char* error_what() const noexcept { return error_what_; }
  bool error_too_deep() const noexcept { return too_deep_; }

private:
  step fail(const char* at, const char* what) noexcept {
    error_offset_ = static_cast<std::size_t>(at - begin_);
    error_what_ = what;
    return step::failed;
  }
  bool refuse(const char* at, const char* what) noexcept {
    fail(at, what);
    return false;
  }
  step fail_end_or(const char* what) noexcept {
    return fail(p_, p_ == end_ ? "unexpected end of input" : what);
  }

  void skip_ws() noexcept {
    while (p_ != end_ && is_ws(*p_))
      ++p_;
  }

  /// At a value's first byte (whitespace skipped).
  step value() noexcept {
    if (p_ == end_) return fail(p_, "unexpected end of input");
    switch (*p_) {
    case '{':
    case '[': {
      bool array = *p_ == '[';
      if (depth_ == json_depth_max) {
        too_deep_ = true;
        return fail(p_, "too deep");
      }
      is_array_[depth_++] = array;
      ++p_;
      skip_ws();
      if (p_ != end_ && *p_ == (array ? ']' : '}')) {
        ++p_;
        --depth_;
        return step::after_value;
      }
      return array ? step::value : step::member;
    }
    case '"':
      return string(nullptr) ? step::after_value : step::failed;
    case 't':
      return literal("true");
    case 'f':
      return literal("false");
    case 'n':
      return literal("null");
    default:
      if (*p_ == '-' || is_digit(*p_)) return number();
      return fail(p_, "expected a value");
    }
  }

  /// At a member name's opening quote (whitespace skipped), inside an object.
  step member() noexcept {
    if (p_ == end_ || *p_ != '"') return fail_end_or("expected a string as member name");
    bool top = cap_ != nullptr && depth_ == 1;
    name_match name;
    if (!string(top ? &name : nullptr)) return step::failed;
    skip_ws();
    if (p_ == end_ || *p_ != ':') return fail_end_or("expected ':'");
    ++p_;
    skip_ws();
    if (top && name.matched()) {
      if (cap_->start != nullptr)
        cap_->duplicate = true;
      else
        cap_->start = p_;
    }
    return step::value;
  }

  /// Just past a complete value.
  step after_value() noexcept {
    if (depth_ == 0) return step::done;
    if (depth_ == 1 && cap_ != nullptr && cap_->start != nullptr && cap_->end == nullptr)
      cap_->end = p_; // the top-level "value" member's value has just ended
    skip_ws();
    bool array = is_array_[depth_ - 1];
    char close = array ? ']' : '}';
    if (p_ != end_ && *p_ == ',') {
      ++p_;
      skip_ws();
      return array ? step::value : step::member;
    }
    if (p_ != end_ && *p_ == close) {
      ++p_;
      --depth_;
      return step::after_value;
    }
    return fail_end_or(array ? "expected ',' or ']'" : "expected ',' or '}'");
  }

  /// At the opening quote; on success just past the closing one. Feeds the decoded
  /// content to `name` if not null.
  bool string(name_match* name) noexcept {
    ++p_;
    for (;;) {
      const char* run = p_;
      while (p_ != end_ && plain(*p_))
        ++p_;
      if (name != nullptr) name->bytes(run, static_cast<std::size_t>(p_ - run));
      if (p_ == end_) return refuse(p_, "unterminated string");
      auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c == '\\') {
        if (!escape(name)) return false;
      } else if (c < 0x20) {
        return refuse(p_, "control character in string (must be escaped)");
      } else {
        // A run of bytes >= 0x80 is valid iff it is whole UTF-8 sequences, since every
        // byte of a multi-byte sequence is >= 0x80: one valid_utf8 call per run.
        const char* high = p_;
        while (p_ != end_ && static_cast<unsigned char>(*p_) >= 0x80)
          ++p_;
        if (!valid_utf8(std::string_view(high, static_cast<std::size_t>(p_ - high))))
          return refuse(high, "invalid UTF-8 in string");
        if (name != nullptr) name->mismatch(); // "value" is ASCII
      }
    }
  }

  /// At a backslash inside a string.
  bool escape(name_match* name) noexcept {
    const char* at = p_++;
    if (p_ == end_) return refuse(p_, "unterminated string");
    char letter = *p_++;
    unsigned unit = 0;
    if (letter == 'u') {
      for (int i = 0; i < 4; ++i, ++p_) {
        int h = p_ == end_ ? -1 : hex_value(*p_);
        if (h < 0) return refuse(at, "invalid \\u escape (needs 4 hex digits)");
        unit = unit << 4 | static_cast<unsigned>(h);
      }
    } else {
      std::size_t k = escape_letters.find(letter);
      if (k == std::string_view::npos) return refuse(at, "invalid escape");
      unit = static_cast<unsigned char>(escaped_chars[k]);
    }
    if (name != nullptr) name->code_unit(unit);
    return true;
  }

  /// At '-' or a digit: -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
  step number() noexcept {
    if (*p_ == '-') ++p_;
    if (p_ == end_ || !is_digit(*p_)) return fail_end_or("expected a digit in number");
    if (*p_ == '0') {
      ++p_;
      if (p_ != end_ && is_digit(*p_)) return fail(p_, "leading zero in number");
    } else {
      skip_digits();
    }
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (p_ == end_ || !is_digit(*p_)) return fail_end_or("expected a digit after '.'");
      skip_digits();
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (p_ == end_ || !is_digit(*p_)) return fail_end_or("expected a digit in exponent");
      skip_digits();
    }
    return step::after_value;
  }

  void skip_digits() noexcept {
    while (p_ != end_ && is_digit(*p_))
      ++p_;
  }

  step literal(std::string_view word) noexcept {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::memcmp(p_, word.data(), word.size()) != 0)
      return fail(p_, "invalid literal (expected true, false or null)");
    p_ += word.size();
    return step::after_value;
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  capture* cap_;                           ///< null for is_json
  std::bitset<json_depth_max> is_array_{}; ///< per open container: array, else object
  std::size_t depth_ = 0;                  ///< open containers
  bool top_is_object_ = false;
  bool too_deep_ = false;
  std::size_t error_offset_ = 0;
  const char* error_what_ = "";
};

/// append_json_string without the UTF-8 check, for callers that have made it.
void append_json_string_unchecked(std::string& out, std::string_view utf8) {
  static constexpr char hex[] = "0123456789abcdef";
  out.reserve(out.size() + utf8.size() + 2);
  out += '"';
  const char* p = utf8.data();
  const char* end = p + utf8.size();
  const char* run = p;
  for (; p != end; ++p) {
    auto c = static_cast<unsigned char>(*p);
    if (c >= 0x80 || plain(*p)) continue;
    out.append(run, static_cast<std::size_t>(p - run));
    run = p + 1;
    // '/' never gets here: it is plain.
    std::size_t k = escaped_chars.find(*p);
    if (k != std::string_view::npos) {
      out += '\\';
      out += escape_letters[k];
    } else {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
  out.append(run, static_cast<std::size_t>(end - run));
  out += '"';
}

} // namespace

value_member extract_value(std::string_view body) {
  value_member result;
  capture cap;
  reader r(body, &cap);
  if (!r.run()) {
    result.error = r.error_too_deep() ? body_error::too_deep : body_error::invalid_json;
    std::string at = std::to_string(r.error_offset());
    if (r.error_too_deep())
      result.message =
          "JSON nested deeper than " + std::to_string(json_depth_max) + " levels at byte " + at;
    else
      result.message = "invalid JSON at byte " + at + ": " + r.error_what();
    return result;
  }
  if (!r.top_is_object()) {
    result.error = body_error::not_object;
    result.message = "body must be a JSON object";
  } else if (cap.duplicate) {
    result.error = body_error::duplicate_value;
    result.message = "body has more than one \"value\" member";
  } else if (cap.start == nullptr) {
    result.error = body_error::missing_value;
    result.message = "body has no \"value\" member";
  } else {
    // A member's value always ends before its object closes.
    KV_ASSERT(cap.end != nullptr && cap.start < cap.end);
    result.text = std::string_view(cap.start, static_cast<std::size_t>(cap.end - cap.start));
  }
  return result;
}

bool is_json(std::string_view text) noexcept {
  return reader(text, nullptr).run();
}

value_encoding append_value(std::string& out, std::string_view stored) {
  if (is_json(stored)) {
    out.append(stored);
    return value_encoding::json;
  }
  if (valid_utf8(stored)) {
    append_json_string_unchecked(out, stored);
    return value_encoding::string;
  }
  out += '"';
  append_base64(out, stored);
  out += '"';
  return value_encoding::base64;
}

void append_json_string(std::string& out, std::string_view utf8) {
  KV_ASSERT(valid_utf8(utf8));
  append_json_string_unchecked(out, utf8);
}

void append_base64(std::string& out, std::string_view bytes) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::size_t old_size = out.size();
  out.resize(old_size + (bytes.size() + 2) / 3 * 4);
  char* w = out.data() + old_size;
  auto byte = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]));
  };
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    *w++ = alphabet[v >> 18];
    *w++ = alphabet[v >> 12 & 0x3F];
    *w++ = alphabet[v >> 6 & 0x3F];
    *w++ = alphabet[v & 0x3F];
  }
  std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t v = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
    *w++ = alphabet[v >> 18];
    *w++ = alphabet[v >> 12 & 0x3F];
    *w++ = rest == 2 ? alphabet[v >> 6 & 0x3F] : '=';
    *w++ = '=';
  }
  KV_ASSERT(w == out.data() + out.size());
}

} // namespace minivault::http
