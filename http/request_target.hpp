#pragma once
// What an HTTP request names, decided from its raw request target (before any
// percent-decoding), and who may do it. Pure functions: no I/O, no node.
//
// Routing rule: only the literal targets `/health` and `/metrics` are the endpoints; any
// other path is a key. The key is the percent-decoded path after the first `/` (it may
// contain `/`, and any byte written as %XX). So a key named `health` is reached as
// `/%68ealth` (or any other percent-encoded spelling): the endpoints never shadow a key.
// A query string (`?...`) is not part of the key. Its one parameter is `consistency=LEVEL`
// (protocol/README.md §4): on a write, the level it is acknowledged at; on a read, `one`
// is the local read (the default) and any other level a quorum read at that level. An
// unknown level is refused; other parameters are ignored.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/options.hpp"

namespace minivault::http {

enum class target_kind : std::uint8_t { key, health, metrics, invalid };

struct parsed_target {
  target_kind kind = target_kind::invalid;
  std::string key;                  // target_kind::key: the decoded key (1..65535 bytes)
  std::string error;                // target_kind::invalid: why, for the 400 reply
  bool quorum = false;              // ?consistency= a level other than one
  std::optional<consistency> level; // ?consistency=LEVEL
};

/// Classifies a raw request target such as `/user%2F1?x=y`.
[[nodiscard]] parsed_target parse_target(std::string_view raw);

/// ASCII case-insensitive equality (header names, auth schemes, tokens).
[[nodiscard]] bool ascii_iequals(std::string_view a, std::string_view b) noexcept;

/// Decodes %XX escapes ('+' stays '+'); false if a '%' is not followed by two hex digits.
[[nodiscard]] bool percent_decode(std::string_view in, std::string& out);

/// True if `authorization` (the header's value) is `Bearer <secret>` (scheme
/// case-insensitive), compared in constant time.
[[nodiscard]] bool bearer_matches(std::string_view authorization, std::string_view secret) noexcept;

} // namespace minivault::http
