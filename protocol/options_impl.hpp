#pragma once
// Private to protocol/options*.cpp, not part of mv_protocol's interface: the option
// descriptors and the text helpers shared by the flag table and help text
// (options_table.cpp), the config-file reader (options_file.cpp) and the command line
// (options.cpp).
//
// Conventions: a setter validates its own value and returns a reason ("" = accepted);
// checks that involve two settings (`validate`) run once, after every source has been
// applied, because the sources may set the two halves in any order.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/options.hpp"

namespace minivault::options_detail {

using setter = std::string (*)(node_options&, std::string_view);
using shower = std::string (*)(const node_options&);

struct option_desc {
  const char* name; // the flag without dashes, and the config-file key
  const char* arg;  // placeholder shown in the help text
  const char* help; // one line
  shower show;      // the current value as help prints it (quoted when text)
  setter set;       // validates and stores; returns "" or the reason for refusing
};

/// The descriptors, in the order of the help text.
struct option_list {
  const option_desc* first;
  const option_desc* last;
  [[nodiscard]] const option_desc* begin() const noexcept { return first; }
  [[nodiscard]] const option_desc* end() const noexcept { return last; }
};
[[nodiscard]] option_list all_options() noexcept;
/// The descriptor named `name` (no dashes), or nullptr.
[[nodiscard]] const option_desc* find_option(std::string_view name) noexcept;

inline bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

inline std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

inline std::string quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

template <class T> std::string num(T v) {
  return std::to_string(v);
}

/// Accepts only a complete unsigned decimal number in lo..hi: no sign, no spaces, no
/// suffix, no overflow. Returns "" or the reason.
[[nodiscard]] std::string parse_uint(std::string_view text, std::uint64_t lo, std::uint64_t hi,
                                     std::uint64_t& out);

/// Checks that involve more than one setting; "" or a message naming the keys involved.
[[nodiscard]] std::string validate(const node_options& o);
/// An error result carrying `message`.
[[nodiscard]] options_result failure(std::string message);

/// Applies every line of config-file `text` over `o`, without `validate` (the command
/// line may still complete the picture). "" or "origin:line: message".
[[nodiscard]] std::string load_config(std::string_view text, const std::string& origin,
                                      node_options& o);
/// Reads a config file of at most 1 MiB into `out`. "" or the reason.
[[nodiscard]] std::string read_file(const std::string& path, std::string& out);

} // namespace minivault::options_detail
