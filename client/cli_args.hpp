#pragma once
// Command-line parsing for minivault-cli, kept apart from main() so it is unit-testable.
//
//   minivault-cli [--host H] [--port P] [--auth KEY] [--compress[=MIN_BYTES]]
//                 [--timeout MS] COMMAND ARGS...
//   COMMAND: get KEY | set KEY [VALUE | -] | del KEY | health
//
// Flags accept `--flag value` and `--flag=value`; `--` ends the flags (for keys that
// start with '-'). Without --auth, $MINIVAULT_AUTH is used, so the key need not appear
// in the process list.
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "client/client.hpp"

namespace minivault::client {

enum class cli_command { get, qget, set, del, health, help };

struct cli_args {
  options conn;
  cli_command command = cli_command::help;
  std::string key;
  std::optional<std::string> value; // set without a value (or "-"): read stdin
};

/// Default minimum value size for --compress without a number.
inline constexpr std::size_t cli_compress_min_bytes_default = 512;

/// Parses argv[1..]; `env_auth` is $MINIVAULT_AUTH (nullptr when unset). On failure the
/// returned string says what is wrong (for "usage" output); on success it is empty.
[[nodiscard]] std::string parse_cli_args(const std::vector<std::string>& args, const char* env_auth,
                                         cli_args& out);

/// The help text (flags, commands, exit codes).
[[nodiscard]] std::string cli_usage();

} // namespace minivault::client
