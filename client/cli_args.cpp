#include "client/cli_args.hpp"

#include <cstdlib>

#include "protocol/consistency.hpp"

namespace minivault::client {

namespace {

/// Parses a whole decimal number in [min, max]; nullopt otherwise.
std::optional<unsigned long long> parse_number(const std::string& s, unsigned long long min,
                                               unsigned long long max) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  unsigned long long v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned long long>(c - '0');
  }
  if (v < min || v > max) return std::nullopt;
  return v;
}

/// Number of positional arguments each command takes: {min, max}.
std::pair<std::size_t, std::size_t> arity(cli_command c) {
  switch (c) {
  case cli_command::get:
  case cli_command::qget:
  case cli_command::del:
    return {1, 1};
  case cli_command::set:
    return {1, 2};
  case cli_command::health:
  case cli_command::help:
    return {0, 0};
  }
  return {0, 0};
}

} // namespace

static_assert(binary_port_default == 3000 && cli_compress_min_bytes_default == 512,
              "cli_usage() spells these defaults out");

std::string cli_usage() {
  return "usage: minivault-cli [flags] COMMAND [ARGS]\n"
         "\n"
         "commands:\n"
         "  get KEY            print the value (raw bytes) of KEY\n"
         "  qget KEY           the same, read from a quorum of KEY's replicas (cluster)\n"
         "  set KEY [VALUE]    store VALUE; without VALUE (or with -) read it from stdin\n"
         "  del KEY            delete KEY (deleting a missing key succeeds)\n"
         "  health             print the node's health as indented JSON\n"
         "\n"
         "flags:\n"
         "  --host HOST        node address (default 127.0.0.1)\n"
         "  --port PORT        binary protocol port (default 3000)\n"
         "  --auth KEY         authenticate first (default: $MINIVAULT_AUTH if set)\n"
         "  --consistency L    level of set/del/qget: one, local_quorum, region_safe,\n"
         "                     each_quorum, quorum, all (default: the node's)\n"
         "  --compress[=MIN]   zstd-compress values of MIN bytes or more (default 512)\n"
         "  --timeout MS       connect and per-request timeout (default 5000)\n"
         "  -h, --help         this text\n"
         "\n"
         "exit codes: 0 ok, 1 key not found (get), 2 error (usage, connection, node refused)\n";
}

std::string parse_cli_args(const std::vector<std::string>& args, const char* env_auth,
                           cli_args& out) {
  out = cli_args{};
  out.conn.connect_timeout = std::chrono::milliseconds(5000);
  out.conn.io_timeout = std::chrono::milliseconds(5000);
  if (env_auth != nullptr) out.conn.auth_key = env_auth;

  std::vector<std::string> positional;
  bool flags_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (flags_done || a.size() < 2 || a[0] != '-' || a == "-") {
      positional.push_back(a);
      continue;
    }
    if (a == "--") {
      flags_done = true;
      continue;
    }
    if (a == "-h" || a == "--help") {
      out.command = cli_command::help;
      return {};
    }
    std::string name = a, value;
    bool has_value = false;
    if (auto eq = a.find('='); eq != std::string::npos) {
      name = a.substr(0, eq);
      value = a.substr(eq + 1);
      has_value = true;
    }
    if (name == "--compress") {
      out.conn.compress_min_bytes = cli_compress_min_bytes_default;
      if (has_value) {
        auto n = parse_number(value, 1, value_bytes_max_ceiling);
        if (!n) return "--compress: expected a byte count, got '" + value + "'";
        out.conn.compress_min_bytes = static_cast<std::size_t>(*n);
      }
      continue;
    }
    if (name != "--host" && name != "--port" && name != "--auth" && name != "--timeout" &&
        name != "--consistency")
      return "unknown flag '" + name + "'";
    if (!has_value) {
      if (i + 1 >= args.size()) return name + ": missing value";
      value = args[++i];
    }
    if (name == "--host") {
      if (value.empty()) return "--host: empty";
      out.conn.host = value;
    } else if (name == "--port") {
      auto n = parse_number(value, 1, 65535);
      if (!n) return "--port: expected 1..65535, got '" + value + "'";
      out.conn.port = static_cast<std::uint16_t>(*n);
    } else if (name == "--auth") {
      out.conn.auth_key = value;
    } else if (name == "--consistency") {
      if (!parse_consistency(value))
        return "--consistency: expected " + consistency_choices() + ", got '" + value + "'";
      out.conn.consistency = value;
    } else {
      auto n = parse_number(value, 1, 3600u * 1000u);
      if (!n) return "--timeout: expected milliseconds 1..3600000, got '" + value + "'";
      out.conn.connect_timeout = out.conn.io_timeout = std::chrono::milliseconds(*n);
    }
  }

  if (positional.empty()) return "missing command";
  const std::string& cmd = positional[0];
  if (cmd == "get")
    out.command = cli_command::get;
  else if (cmd == "qget")
    out.command = cli_command::qget;
  else if (cmd == "set")
    out.command = cli_command::set;
  else if (cmd == "del" || cmd == "delete")
    out.command = cli_command::del;
  else if (cmd == "health")
    out.command = cli_command::health;
  else
    return "unknown command '" + cmd + "'";

  auto [lo, hi] = arity(out.command);
  std::size_t n = positional.size() - 1;
  if (n < lo || n > hi) return cmd + ": wrong number of arguments";
  if (n >= 1) {
    out.key = positional[1];
    if (out.key.empty()) return cmd + ": the key must not be empty";
    if (out.key.size() > key_bytes_max) return cmd + ": the key is longer than 65535 bytes";
  }
  if (n == 2 && positional[2] != "-") out.value = positional[2];
  return {};
}

} // namespace minivault::client
