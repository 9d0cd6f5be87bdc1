#include "protocol/options.hpp"
#include "protocol/utf8.hpp"

// One table of option descriptors drives the command line, the config file and the help
// text, so a setting cannot exist in one and be missing (or validated differently) in
// another. Setters validate their own value and return a reason ("" = accepted); checks
// that involve two settings run once, after every source has been applied, because the
// sources may set the two halves in any order.

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <string_view>

namespace minivault {

namespace {

constexpr std::size_t config_file_bytes_max = 1u << 20;
constexpr std::size_t help_column = 25; // where the meaning starts in options_help()
constexpr std::size_t peers_max = 1024;
constexpr std::size_t workers_max = 10000;
constexpr std::size_t io_threads_max = 64;
constexpr std::size_t replication_factor_max = 64;
// The cache budget is converted to bytes by the node: keep that product in range.
constexpr std::size_t cache_mb_max = std::numeric_limits<std::size_t>::max() >> 20;
constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();

using setter = std::string (*)(node_options&, std::string_view);
using shower = std::string (*)(const node_options&);

struct option_desc {
  const char* name; // the flag without dashes, and the config-file key
  const char* arg;  // placeholder shown in the help text
  const char* help; // one line
  shower show;      // the current value as help prints it (quoted when text)
  setter set;       // validates and stores; returns "" or the reason for refusing
};

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && is_space(s.front()))
    s.remove_prefix(1);
  while (!s.empty() && is_space(s.back()))
    s.remove_suffix(1);
  return s;
}

std::string quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}
std::string dquoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

std::string range_text(std::uint64_t lo, std::uint64_t hi) {
  if (hi >= (std::uint64_t{1} << 40)) // "no practical limit" reads better than 2^64-1
    return "an integer >= " + std::to_string(lo);
  return "an integer in " + std::to_string(lo) + ".." + std::to_string(hi);
}

// Accepts only a complete unsigned decimal number: no sign, no spaces, no suffix, no
// overflow. Returns "" or the reason.
std::string parse_uint(std::string_view text, std::uint64_t lo, std::uint64_t hi,
                       std::uint64_t& out) {
  auto refuse = [&] { return "expected " + range_text(lo, hi) + ", got " + quoted(text); };
  if (text.empty()) return refuse();
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return refuse();
    auto digit = static_cast<std::uint64_t>(c - '0');
    if (v > (u64_max - digit) / 10) return refuse();
    v = v * 10 + digit;
  }
  if (v < lo || v > hi) return refuse();
  out = v;
  return {};
}

template <class T>
std::string set_uint(T& field, std::string_view text, std::uint64_t lo, std::uint64_t hi) {
  std::uint64_t v = 0;
  std::uint64_t type_max = std::numeric_limits<T>::max();
  auto err = parse_uint(text, lo, std::min(hi, type_max), v);
  if (err.empty()) field = static_cast<T>(v);
  return err;
}

std::string set_text(std::string& field, std::string_view text, bool required) {
  if (required && text.empty()) return "must not be empty";
  field = std::string(text);
  return {};
}

// Text that is shown in the health JSON must be valid UTF-8.
std::string set_label(std::string& field, std::string_view text, bool required) {
  if (!valid_utf8(text)) return "must be valid UTF-8 (it is shown in the health JSON)";
  return set_text(field, text, required);
}

// Maps `text` to one of `names` (index into it); the refusal lists the accepted words.
template <std::size_t N>
std::string set_choice(std::size_t& index, std::string_view text, const char* const (&names)[N]) {
  std::string allowed;
  for (std::size_t i = 0; i < N; ++i) {
    if (text == names[i]) {
      index = i;
      return {};
    }
    allowed += (i == 0 ? "" : "|") + std::string(names[i]);
  }
  return "expected " + allowed + ", got " + quoted(text);
}

constexpr const char* auth_mode_names[] = {"none", "writes", "all"};
constexpr const char* fsync_names[] = {"none", "interval", "always"};
constexpr const char* log_level_names[] = {"error", "warning", "info", "debug"};

std::string set_auth_mode(node_options& o, std::string_view v) {
  std::size_t i = 0;
  auto err = set_choice(i, v, auth_mode_names);
  if (err.empty()) o.auth = static_cast<auth_mode>(i);
  return err;
}

std::string set_fsync(node_options& o, std::string_view v) {
  std::size_t i = 0;
  auto err = set_choice(i, v, fsync_names);
  if (err.empty()) o.fsync = static_cast<fsync_policy>(i);
  return err;
}

constexpr const char* yes_no_names[] = {"no", "yes"};

std::string set_protected(node_options& o, std::string_view v) {
  std::size_t i = 0;
  auto err = set_choice(i, v, yes_no_names);
  if (err.empty()) o.protected_mode = i == 1;
  return err;
}

std::string set_log_level(node_options& o, std::string_view v) {
  std::size_t i = 0;
  auto err = set_choice(i, v, log_level_names);
  if (err.empty()) o.log_level = log_level_names[i];
  return err;
}

std::string set_peers(node_options& o, std::string_view v) {
  std::string err;
  if (!parse_peer_list(std::string(v), o.peers, err)) return err;
  return {};
}

std::string show_peers(const node_options& o) {
  std::string s;
  for (const auto& p : o.peers)
    s += (s.empty() ? "" : ",") + p.host + ":" + std::to_string(p.port);
  return dquoted(s);
}

template <class T> std::string num(T v) {
  return std::to_string(v);
}

// The table. Order is the order of the help text.
using opts = node_options;
using sv = std::string_view;

const option_desc option_table[] = {
    {"port", "N", "binary protocol TCP port, 1..65535", [](const opts& o) { return num(o.port); },
     [](opts& o, sv v) { return set_uint(o.port, v, 1, 65535); }},
    {"http", "N", "HTTP/JSON port, 0 = disabled", [](const opts& o) { return num(o.http_port); },
     [](opts& o, sv v) { return set_uint(o.http_port, v, 0, 65535); }},
    {"http-timeout-ms", "MS",
     "an HTTP request must arrive whole within this long; idle keep-alive closes after it, >= 100",
     [](const opts& o) { return num(o.http_timeout_ms); },
     [](opts& o, sv v) { return set_uint(o.http_timeout_ms, v, 100, u64_max); }},
    {"public-url", "HOST:PORT", "this node's host:port as peers reach it; needed with peers",
     [](const opts& o) { return dquoted(o.public_url); },
     [](opts& o, sv v) { return set_text(o.public_url, v, false); }},
    {"data", "DIR", "data directory (created if missing)",
     [](const opts& o) { return dquoted(o.data_dir); },
     [](opts& o, sv v) { return set_text(o.data_dir, v, true); }},
    {"auth", "KEY", "authentication key (clients and peers)",
     [](const opts& o) { return dquoted(o.auth_key); },
     [](opts& o, sv v) { return set_text(o.auth_key, v, false); }},
    {"authmode", "MODE", "none, writes (SET/DELETE need auth), all (all but HEALTH)",
     [](const opts& o) { return std::string(to_string(o.auth)); }, set_auth_mode},
    {"ratelimit", "N", "client ops/sec throttle, 0 = unlimited",
     [](const opts& o) { return num(o.rate_limit_ops); },
     [](opts& o, sv v) { return set_uint(o.rate_limit_ops, v, 0, u64_max); }},
    {"ratelimit-per-ip", "N", "client ops/sec per client IP address, 0 = unlimited",
     [](const opts& o) { return num(o.rate_limit_per_ip_ops); },
     [](opts& o, sv v) { return set_uint(o.rate_limit_per_ip_ops, v, 0, u64_max); }},
    {"cache", "MB", "in-memory cache budget in MB, >= 1",
     [](const opts& o) { return num(o.cache_mb); },
     [](opts& o, sv v) { return set_uint(o.cache_mb, v, 1, cache_mb_max); }},
    {"workers", "N", "replication concurrency, 1..10000",
     [](const opts& o) { return num(o.workers); },
     [](opts& o, sv v) { return set_uint(o.workers, v, 1, workers_max); }},
    {"config", "FILE", "INI config file; command-line flags override it",
     [](const opts& o) { return o.config_file.empty() ? "none" : dquoted(o.config_file); },
     [](opts& o, sv v) { return set_text(o.config_file, v, true); }},
    {"bind", "ADDR", "address the listening sockets bind to",
     [](const opts& o) { return dquoted(o.bind_address); },
     [](opts& o, sv v) {
       o.bind_explicit = true; // turns protected mode off, as Redis's `bind` does
       return set_text(o.bind_address, v, true);
     }},
    {"protected-mode", "yes|no", "with no -auth and no -bind: serve loopback clients only",
     [](const opts& o) { return std::string(o.protected_mode ? "yes" : "no"); }, set_protected},
    {"region", "NAME", "region label, shown in health and to peers",
     [](const opts& o) { return dquoted(o.region); },
     [](opts& o, sv v) { return set_label(o.region, v, true); }},
    {"node-id", "ID", "node identity; \"\" = generated once, kept in -data",
     [](const opts& o) { return dquoted(o.node_name); },
     [](opts& o, sv v) { return set_label(o.node_name, v, false); }},
    {"fsync", "POLICY", "none, interval or always (fsync before every ack)",
     [](const opts& o) { return std::string(to_string(o.fsync)); }, set_fsync},
    {"fsync-interval-ms", "MS", "fsync period with -fsync interval, >= 1",
     [](const opts& o) { return num(o.fsync_interval_ms); },
     [](opts& o, sv v) { return set_uint(o.fsync_interval_ms, v, 1, u64_max); }},
    {"value-max-bytes", "N", "largest value accepted, 1..536870912",
     [](const opts& o) { return num(o.value_bytes_max); },
     [](opts& o, sv v) { return set_uint(o.value_bytes_max, v, 1, value_bytes_max_ceiling); }},
    {"compress-min-bytes", "N", "values at least this large are compressed at rest",
     [](const opts& o) { return num(o.compress_bytes_min); },
     [](opts& o, sv v) { return set_uint(o.compress_bytes_min, v, 0, u64_max); }},
    {"io-threads", "N", "network I/O threads, 0..64, 0 = one per core but one (at least 1)",
     [](const opts& o) { return num(o.io_threads); },
     [](opts& o, sv v) { return set_uint(o.io_threads, v, 0, io_threads_max); }},
    {"max-connections", "N", "client connections served at once, >= 1",
     [](const opts& o) { return num(o.max_connections); },
     [](opts& o, sv v) { return set_uint(o.max_connections, v, 1, u64_max); }},
    {"replication-factor", "N", "replicas of every key, 1..64",
     [](const opts& o) { return num(o.replication_factor); },
     [](opts& o, sv v) { return set_uint(o.replication_factor, v, 1, replication_factor_max); }},
    {"write-quorum", "N", "replicas that must ack a write, 1..replication-factor",
     [](const opts& o) { return num(o.write_quorum); },
     [](opts& o, sv v) { return set_uint(o.write_quorum, v, 1, replication_factor_max); }},
    {"cluster-port", "N", "peer-to-peer TCP port, 0 = client port + 1000",
     [](const opts& o) { return num(o.cluster_port); },
     [](opts& o, sv v) { return set_uint(o.cluster_port, v, 0, 65535); }},
    {"request-timeout-ms", "MS", "how long a request waits for replicas, >= 1",
     [](const opts& o) { return num(o.request_timeout_ms); },
     [](opts& o, sv v) { return set_uint(o.request_timeout_ms, v, 1, u64_max); }},
    {"stall-timeout-ms", "MS", "close a client stalled mid-frame after this long, >= 1",
     [](const opts& o) { return num(o.stall_timeout_ms); },
     [](opts& o, sv v) { return set_uint(o.stall_timeout_ms, v, 1, u64_max); }},
    {"log-level", "LEVEL", "error, warning, info or debug",
     [](const opts& o) { return o.log_level; }, set_log_level},
    {"tls-cert", "FILE", "PEM certificate for peer TLS (needs -tls-key)",
     [](const opts& o) { return dquoted(o.tls_cert); },
     [](opts& o, sv v) { return set_text(o.tls_cert, v, false); }},
    {"tls-key", "FILE", "PEM private key for -tls-cert",
     [](const opts& o) { return dquoted(o.tls_key); },
     [](opts& o, sv v) { return set_text(o.tls_key, v, false); }},
    {"tls-ca", "FILE", "PEM CA bundle that peer certificates must chain to",
     [](const opts& o) { return dquoted(o.tls_ca); },
     [](opts& o, sv v) { return set_text(o.tls_ca, v, false); }},
    {"cluster-nodes", "LIST", "other nodes as host:port,host:port (client ports)", show_peers,
     set_peers},
};

const option_desc* find_option(std::string_view name) noexcept {
  for (const auto& d : option_table)
    if (name == d.name) return &d;
  return nullptr;
}

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

// -- config files ---------------------------------------------------------------------

// Value text after '=': either "quoted" (\" and \\ escapes) or bare. In a bare value a
// '#' or ';' that starts a word begins a comment; quote values that need one.
std::string unquote_value(std::string_view v, std::string& out) {
  out.clear();
  if (v.empty() || v.front() != '"') {
    for (std::size_t i = 0; i < v.size(); ++i) {
      if ((v[i] == '#' || v[i] == ';') && (i == 0 || is_space(v[i - 1]))) {
        v = v.substr(0, i);
        break;
      }
    }
    out = std::string(trim(v));
    return {};
  }
  for (std::size_t i = 1; i < v.size(); ++i) {
    char c = v[i];
    if (c == '\\' && i + 1 < v.size() && (v[i + 1] == '"' || v[i + 1] == '\\')) {
      out += v[++i];
    } else if (c == '"') {
      auto rest = trim(v.substr(i + 1));
      if (!rest.empty() && rest.front() != '#' && rest.front() != ';')
        return "unexpected text after the closing quote";
      return {};
    } else {
      out += c;
    }
  }
  return "missing closing quote";
}

// Applies one non-blank, non-comment line. Returns "" or the message without location.
std::string apply_config_line(std::string_view line, node_options& o,
                              std::map<std::string, std::size_t, std::less<>>& seen,
                              std::size_t line_no) {
  if (line.front() == '[') {
    if (line.back() != ']') return "malformed section header " + quoted(line);
    return {}; // sections only group keys for the reader
  }
  auto eq = line.find('=');
  if (eq == std::string_view::npos)
    return "missing '=' in " + quoted(line) + " (expected 'key = value')";
  auto key = trim(line.substr(0, eq));
  if (key.empty()) return "missing key before '='";
  if (key == "config") return "key 'config' is not allowed in a config file (no nesting)";
  const option_desc* d = find_option(key);
  if (d == nullptr) return "unknown key " + quoted(key);
  if (auto it = seen.find(key); it != seen.end())
    return "duplicate key " + quoted(key) + " (first set on line " + num(it->second) + ")";
  seen.emplace(std::string(key), line_no);
  std::string value;
  auto err = unquote_value(trim(line.substr(eq + 1)), value);
  if (err.empty()) err = d->set(o, value);
  if (!err.empty()) return "invalid value for " + quoted(key) + ": " + err;
  return {};
}

// Applies every line of `text` over `o`, without the cross-setting checks (the command
// line may still complete the picture). Errors are "origin:line: message".
std::string load_config(std::string_view text, const std::string& origin, node_options& o) {
  std::map<std::string, std::size_t, std::less<>> seen;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    auto nl = text.find('\n');
    auto raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    auto line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    auto err = apply_config_line(line, o, seen, line_no);
    if (!err.empty()) return origin + ":" + num(line_no) + ": " + err;
  }
  return {};
}

std::string read_file(const std::string& path, std::string& out) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return "cannot open " + quoted(path) + ": " + std::strerror(errno);
  out.clear();
  char buf[8192];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && out.size() <= config_file_bytes_max)
    out.append(buf, n);
  int read_errno = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (read_errno != 0) return "cannot read " + quoted(path) + ": " + std::strerror(read_errno);
  if (out.size() > config_file_bytes_max)
    return quoted(path) + " is larger than " + num(config_file_bytes_max) + " bytes";
  return {};
}

// -- command line ---------------------------------------------------------------------

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

const char* to_string(fsync_policy p) noexcept {
  switch (p) {
  case fsync_policy::none:
    return "none";
  case fsync_policy::interval:
    return "interval";
  case fsync_policy::always:
    return "always";
  }
  return "?";
}

const char* to_string(auth_mode m) noexcept {
  switch (m) {
  case auth_mode::none:
    return "none";
  case auth_mode::writes:
    return "writes";
  case auth_mode::all:
    return "all";
  }
  return "?";
}

bool parse_peer_list(const std::string& text, std::vector<peer_address>& out, std::string& error) {
  std::vector<peer_address> peers;
  std::string_view rest = text;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    auto entry = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (entry.empty()) continue;
    auto bad = [&](const char* why) {
      error = "bad peer " + quoted(entry) + ": " + why;
      return false;
    };
    auto colon = entry.rfind(':');
    if (colon == std::string_view::npos) return bad("expected host:port");
    auto host = entry.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2); // [IPv6]:port
    else if (host.find(':') != std::string_view::npos)
      return bad("write an IPv6 host in brackets, [addr]:port");
    if (host.empty()) return bad("empty host");
    for (char c : host)
      if (is_space(c) || c == '[' || c == ']') return bad("invalid character in host");
    std::uint64_t port = 0;
    if (!parse_uint(entry.substr(colon + 1), 1, 65535, port).empty())
      return bad("port must be an integer in 1..65535");
    peer_address p{std::string(host), static_cast<std::uint16_t>(port)};
    bool duplicate = false;
    for (const auto& q : peers)
      duplicate = duplicate || q == p;
    if (!duplicate) peers.push_back(std::move(p));
    if (peers.size() > peers_max) return bad("too many peers (at most 1024)");
  }
  out = std::move(peers);
  return true;
}

options_result parse_config_text(const std::string& text, const std::string& origin,
                                 node_options base) {
  auto err = load_config(text, origin, base);
  if (err.empty()) {
    err = validate(base);
    if (!err.empty()) err = origin + ": " + err;
  }
  if (!err.empty()) return failure(std::move(err));
  options_result r;
  r.options = std::move(base);
  return r;
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
    std::string err;
    if (!parse_peer_list(cluster_nodes_env, o.peers, err)) return failure("CLUSTER_NODES: " + err);
  }
  if (auto err = validate(o); !err.empty()) return failure(std::move(err));
  options_result r;
  r.options = std::move(o);
  return r;
}

std::string options_help() {
  auto row = [](std::string left, const std::string& meaning) {
    left.resize(std::max(left.size() + 1, help_column), ' ');
    return left + meaning + "\n";
  };
  const node_options defaults;
  std::string s = "Usage: minivault [options]\n"
                  "Options are written -name value, -name=value, --name value or --name=value."
                  "\n\n";
  s += row("  -h, -help", "print this help and exit");
  for (const auto& d : option_table)
    s += row("  -" + std::string(d.name) + " " + d.arg,
             std::string(d.help) + " (default " + d.show(defaults) + ")");
  s += "\nEnvironment:\n"
       "  CLUSTER_NODES=\"host:port,...\"  the other nodes' client addresses; when set and\n"
       "                                 non-empty it replaces -cluster-nodes (flag or file).\n"
       "\nConfig file (-config FILE): INI lines 'key = value', the key being the option name\n"
       "without dashes (port = 3001, cluster-nodes = localhost:3002,localhost:3003).\n"
       "'#' and ';' start comments, [section] headers are ignored, values may be \"quoted\".\n"
       "Unknown keys, bad values and duplicate keys are refused with file:line.\n"
       "Precedence: defaults < config file < command-line options < CLUSTER_NODES (peers).\n";
  return s;
}

} // namespace minivault
