// Node options: the command line (`-flag v`, `-flag=v`, `--flag v`, `--flag=v`, scanned
// against the option table), peer lists (CLUSTER_NODES, -cluster-nodes), the checks that
// involve several settings, and parse_options, which applies the sources in order:
// defaults < config file < flags < CLUSTER_NODES. The table and the help text are in
// options_table.cpp, config files in options_file.cpp.
#include "protocol/options.hpp"

#include <string_view>
#include <vector>

#include "protocol/options_impl.hpp"
#include "protocol/utf8.hpp"

namespace minivault {
namespace options_detail {

options_result failure(std::string message) {
  options_result r;
  r.status = options_result::kind::error;
  r.message = std::move(message);
  return r;
}

// Checks that involve more than one setting; each message names the keys involved.
std::string validate(const node_options& o) {
  if (o.write_quorum < 1 || o.write_quorum > o.replication_factor)
    return "write-quorum (" + num(o.write_quorum) +
           ") must be between 1 and "
           "replication-factor (" +
           num(o.replication_factor) + ")";
  if (o.auth != auth_mode::none && o.auth_key.empty())
    return "authmode '" + std::string(to_string(o.auth)) +
           "' requires a non-empty auth key (-auth / auth =)";
  if (o.tls_cert.empty() != o.tls_key.empty()) return "tls-cert and tls-key must be set together";
  if (!o.tls_ca.empty() && o.tls_cert.empty()) return "tls-ca requires tls-cert and tls-key";
  if (o.data_dir.empty()) return "data must not be empty";
  return {};
}

} // namespace options_detail

using namespace options_detail;

namespace {

constexpr std::size_t peers_max = 1024;

struct flag_arg {
  const option_desc* desc;
  std::string value;
};

struct cli_scan {
  std::vector<flag_arg> flags;
  bool help = false;
  std::string error; // the first problem; scanning goes on so that -h still wins
};

// Splits argv into (option, value) pairs. Every option takes a value: `-f v` consumes
// the next argument whatever it looks like, as Go's flag package does.
cli_scan scan_args(int argc, const char* const* argv) {
  cli_scan s;
  auto fail = [&s](std::string msg) {
    if (s.error.empty()) s.error = std::move(msg);
  };
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i] != nullptr ? argv[i] : "";
    if (arg.size() < 2 || arg.front() != '-' || arg == "--") {
      fail("unexpected argument " + quoted(arg) + " (options are written -name value)");
      continue;
    }
    std::size_t dashes = arg[1] == '-' ? 2 : 1;
    auto body = arg.substr(dashes);
    auto eq = body.find('=');
    auto name = body.substr(0, eq);
    if (name == "h" || name == "help") {
      s.help = true;
      continue;
    }
    const option_desc* d = find_option(name);
    if (d == nullptr) {
      fail("unknown flag " + quoted(arg.substr(0, dashes + name.size())) + " (see -h)");
      continue;
    }
    if (eq != std::string_view::npos) {
      s.flags.push_back({d, std::string(body.substr(eq + 1))});
    } else if (i + 1 < argc && argv[i + 1] != nullptr) {
      s.flags.push_back({d, argv[++i]});
    } else {
      fail("flag -" + std::string(name) + " needs a value");
    }
  }
  return s;
}

} // namespace

result<std::vector<peer_address>> parse_peer_list(const std::string& text) {
  std::vector<peer_address> peers;
  std::string_view rest = text;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    auto entry = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (entry.empty()) continue;
    const std::string_view whole = entry;
    auto bad = [whole](const char* why) {
      return status(errc::config_error, "bad peer " + quoted(whole) + ": " + why);
    };
    std::string_view region;
    if (auto at = entry.rfind('@'); at != std::string_view::npos) {
      region = entry.substr(at + 1);
      entry = entry.substr(0, at);
      if (region.empty()) return bad("empty region after '@'");
      if (!valid_utf8(region)) return bad("region must be valid UTF-8");
      for (char c : region)
        if (is_space(c) || c == '@') return bad("invalid character in region");
    }
    auto colon = entry.rfind(':');
    if (colon == std::string_view::npos) return bad("expected host:port");
    auto host = entry.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2); // [IPv6]:port
    else if (host.find(':') != std::string_view::npos)
      return bad("write an IPv6 host in brackets, [addr]:port");
    if (host.empty()) return bad("empty host");
    for (char c : host) // '@' would start a region when the entry is written back
      if (is_space(c) || c == '[' || c == ']' || c == '@' || static_cast<unsigned char>(c) < 0x20 ||
          c == 0x7f)
        return bad("invalid character in host");
    std::uint64_t port = 0;
    if (!parse_uint(entry.substr(colon + 1), 1, 65535, port).empty())
      return bad("port must be an integer in 1..65535");
    peer_address p{std::string(host), static_cast<std::uint16_t>(port), std::string(region)};
    bool duplicate = false;
    for (const auto& q : peers) {
      if (q == p && q.region != p.region) return bad("listed twice with different regions");
      duplicate = duplicate || q == p;
    }
    if (!duplicate) peers.push_back(std::move(p));
    if (peers.size() > peers_max) return bad("too many peers (at most 1024)");
  }
  return peers;
}

options_result parse_options(int argc, const char* const* argv, const char* cluster_nodes_env) {
  auto scan = scan_args(argc, argv);
  if (scan.help) {
    options_result r;
    r.status = options_result::kind::help;
    r.message = options_help();
    return r;
  }
  if (!scan.error.empty()) return failure(std::move(scan.error));
  node_options o;
  // The file is the base the flags override, wherever -config sits (the last one wins).
  std::string config_path;
  for (const auto& f : scan.flags)
    if (std::string_view(f.desc->name) == "config") config_path = f.value;
  if (!config_path.empty()) {
    std::string text;
    if (auto err = read_file(config_path, text); !err.empty()) return failure("-config: " + err);
    if (auto err = load_config(text, config_path, o); !err.empty()) return failure(err);
  }
  for (const auto& f : scan.flags) {
    auto err = f.desc->set(o, f.value);
    if (!err.empty())
      return failure("invalid value for -" + std::string(f.desc->name) + ": " + err);
  }
  if (cluster_nodes_env != nullptr && !trim(cluster_nodes_env).empty()) {
    auto peers = parse_peer_list(cluster_nodes_env);
    if (!peers) return failure("CLUSTER_NODES: " + peers.error().reason());
    o.peers = std::move(peers).value();
  }
  if (auto err = validate(o); !err.empty()) return failure(std::move(err));
  options_result r;
  r.options = std::move(o);
  return r;
}

} // namespace minivault
