#pragma once
// Strict JSON text for the HTTP/JSON front-end (protocol/README.md §3.3): validate a PUT
// body and take the raw bytes of its "value" member, and show stored bytes as JSON on
// GET. Values are kept and shown byte-for-byte (no number conversion, no reformatting,
// key order kept), which a DOM library such as nlohmann::json would not do.
//
// Strict means RFC 8259 with no extensions: exactly one value, UTF-8 validated (RFC 3629:
// no overlong forms, no encoded surrogates), no raw bytes below 0x20 in strings, escapes
// limited to \" \\ \/ \b \f \n \r \t \uXXXX (lone surrogate escapes are accepted, as the
// grammar allows), no trailing commas, comments, single quotes, NaN/Infinity, leading
// zeros or byte-order mark. Whitespace is space, tab, LF and CR only, allowed around
// values. Numbers are checked against the grammar -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?
// and never converted, so any length or magnitude is kept.
//
// Nesting depth counts open arrays and objects, the outermost included: `1` has depth 0,
// `[1]` depth 1, `{"value":[1]}` depth 2. Parsing uses an explicit fixed-size stack, so
// C stack use does not grow with the input.
//
// All functions are pure and thread-safe; none keeps a reference to its input beyond the
// call except value_member::text, which views the caller's body.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/limits.hpp"

namespace minivault::http {

/// Why a PUT body was refused (each maps to HTTP 400 by the caller).
enum class body_error : std::uint8_t {
  none,
  invalid_json,    ///< not exactly one strict JSON value
  not_object,      ///< valid JSON, but the top-level value is not an object
  missing_value,   ///< top-level object without a "value" member
  duplicate_value, ///< top-level object with more than one "value" member
  too_deep,        ///< nesting deeper than json_depth_max
};

/// Deepest nesting of arrays and objects accepted (see the depth rule above), defined in
/// protocol/limits.hpp.
using ::minivault::json_depth_max;

/// Result of extract_value.
struct value_member {
  body_error error = body_error::none;
  /// On success: the exact bytes of the top-level "value" member's JSON value, without the
  /// whitespace around it. A view into the body passed to extract_value: valid only while
  /// that body lives. Empty on error.
  std::string_view text;
  /// On error: short text for the client, e.g. "invalid JSON at byte 17: expected ':'"
  /// (byte offsets count from 0) or "body has no \"value\" member". Empty on success.
  std::string message;
};

/// Validates `body` as exactly one strict JSON document that must be an object, and returns
/// the raw text of its top-level member named "value". Names are compared after decoding
/// escapes, so "\u0076alue" counts; members of nested objects never count. Other members
/// are ignored but validated. Errors, in order of precedence: invalid_json or too_deep
/// (whichever is met first while reading), not_object, duplicate_value, missing_value.
/// Allocates only for an error message; one pass over the body.
[[nodiscard]] value_member extract_value(std::string_view body);

/// True if `text` is exactly one valid JSON value under the same strict rules, with
/// surrounding whitespace allowed (empty or only whitespace -> false) and nesting at most
/// json_depth_max. Never allocates.
[[nodiscard]] bool is_json(std::string_view text) noexcept;

/// How append_value showed a stored value.
enum class value_encoding : std::uint8_t {
  json,   ///< the stored bytes verbatim: they are a JSON value (is_json)
  string, ///< a JSON string of the stored text: valid UTF-8 but not JSON
  base64, ///< a JSON string of standard base64 of the stored bytes: not valid UTF-8
};

/// Appends to `out` one valid JSON value showing `stored` and returns which form it used:
/// if is_json(stored), the bytes verbatim (big integers such as 12345678901234567890, 1e308,
/// key order and escapes all round-trip byte-for-byte; whitespace around them is kept too);
/// else if valid UTF-8, a JSON string of the text (append_json_string); else a JSON string
/// holding standard base64 of the bytes (append_base64). Whatever it appends, is_json
/// accepts.
value_encoding append_value(std::string& out, std::string_view stored);

/// Appends `utf8` as a JSON string literal, quotes included. Escapes '"' and '\' with a
/// backslash, control characters below 0x20 as \n \t \r \b \f or else \u00XX; everything
/// else (non-ASCII, '/', 0x7F) is copied as is. Precondition: `utf8` is valid UTF-8
/// (checked with KV_ASSERT, which aborts: check untrusted bytes with valid_utf8 first).
void append_json_string(std::string& out, std::string_view utf8);

/// Appends standard base64 (RFC 4648 §4: A-Z a-z 0-9 + /, '=' padding, no line breaks) of
/// `bytes`, without quotes.
void append_base64(std::string& out, std::string_view bytes);

} // namespace minivault::http
