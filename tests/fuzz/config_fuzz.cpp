// Fuzz target: the config file parser (protocol/options.hpp): parse_config_text, which
// reads a -config file, and parse_peer_list, which reads cluster-nodes and the
// CLUSTER_NODES environment variable.
//
// Checked for every input, beyond "no crash, no sanitizer report":
// - a refusal names the file ("fuzz.ini:<line>: ..." or "fuzz.ini: ..."); an accepted
//   file passes the cross-setting checks (write-quorum <= replication-factor, ...);
// - an accepted file round-trips: the options written back as INI (every key, values
//   quoted) parse to the same options (parse/print pair);
// - parse_peer_list: an accepted list has 1..1024 distinct peers with non-empty hosts
//   free of spaces and brackets and ports in 1..65535, and writing it back
//   ("host:port", "[v6]:port") parses to the same list; a refusal names the bad entry
//   and leaves the output untouched.
// Input: the raw text (corpus files are config files). Run with -max_len=4096.
#include <string>
#include <vector>

#include "fuzz_input.hpp"
#include "protocol/options.hpp"

namespace {

using namespace minivault;

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string peer_list(const std::vector<peer_address>& peers) {
  std::string out;
  for (const auto& p : peers) {
    if (!out.empty()) out += ',';
    const bool v6 = p.host.find(':') != std::string::npos;
    out += (v6 ? "[" + p.host + "]" : p.host) + ":" + std::to_string(p.port);
    if (!p.region.empty()) out += "@" + p.region;
  }
  return out;
}

/// Every key of a config file, with `o`'s values (bind only when it was given: giving it
/// is itself a setting, it turns protected mode off).
std::string to_ini(const node_options& o) {
  auto n = [](auto v) { return std::to_string(v); };
  std::string s = "[minivault]\n";
  auto line = [&s](const char* key, const std::string& value) {
    s += std::string(key) + " = " + value + "\n";
  };
  line("port", n(o.port));
  line("http", n(o.http_port));
  line("http-timeout-ms", n(o.http_timeout_ms));
  line("public-url", quoted(o.public_url));
  line("data", quoted(o.data_dir));
  line("auth", quoted(o.auth_key));
  line("authmode", to_string(o.auth));
  line("ratelimit", n(o.rate_limit_ops));
  line("ratelimit-per-ip", n(o.rate_limit_per_ip_ops));
  line("cache", n(o.cache_mb));
  line("workers", n(o.workers));
  if (o.bind_explicit) line("bind", quoted(o.bind_address)); // else the default, implicitly
  line("protected-mode", o.protected_mode ? "yes" : "no");
  line("region", quoted(o.region));
  line("node-id", quoted(o.node_name));
  line("fsync", to_string(o.fsync));
  line("fsync-interval-ms", n(o.fsync_interval_ms));
  line("value-max-bytes", n(o.value_bytes_max));
  line("compress-min-bytes", n(o.compress_bytes_min));
  line("io-threads", n(o.io_threads));
  line("max-connections", n(o.max_connections));
  line("replication-factor", n(o.replication_factor));
  line("write-quorum", n(o.write_quorum));
  line("cluster-port", n(o.cluster_port));
  line("request-timeout-ms", n(o.request_timeout_ms));
  line("stall-timeout-ms", n(o.stall_timeout_ms));
  line("log-level", o.log_level);
  line("tls-cert", quoted(o.tls_cert));
  line("tls-key", quoted(o.tls_key));
  line("tls-ca", quoted(o.tls_ca));
  line("cluster-nodes", quoted(peer_list(o.peers)));
  return s;
}

bool same(const node_options& a, const node_options& b) {
  return a.port == b.port && a.http_port == b.http_port && a.http_timeout_ms == b.http_timeout_ms &&
         a.public_url == b.public_url && a.data_dir == b.data_dir && a.auth_key == b.auth_key &&
         a.auth == b.auth && a.rate_limit_ops == b.rate_limit_ops &&
         a.rate_limit_per_ip_ops == b.rate_limit_per_ip_ops && a.cache_mb == b.cache_mb &&
         a.workers == b.workers && a.config_file == b.config_file &&
         a.bind_address == b.bind_address && a.bind_explicit == b.bind_explicit &&
         a.protected_mode == b.protected_mode && a.region == b.region &&
         a.node_name == b.node_name && a.fsync == b.fsync &&
         a.fsync_interval_ms == b.fsync_interval_ms && a.value_bytes_max == b.value_bytes_max &&
         a.compress_bytes_min == b.compress_bytes_min && a.io_threads == b.io_threads &&
         a.max_connections == b.max_connections && a.replication_factor == b.replication_factor &&
         a.write_quorum == b.write_quorum && a.cluster_port == b.cluster_port &&
         a.request_timeout_ms == b.request_timeout_ms && a.stall_timeout_ms == b.stall_timeout_ms &&
         a.log_level == b.log_level && a.tls_cert == b.tls_cert && a.tls_key == b.tls_key &&
         a.tls_ca == b.tls_ca && a.peers == b.peers;
}

void check_config(const std::string& text) {
  options_result r = parse_config_text(text, "fuzz.ini");
  FUZZ_CHECK(r.status != options_result::kind::help);
  if (r.status == options_result::kind::error) {
    FUZZ_CHECK(r.message.compare(0, 8, "fuzz.ini") == 0);
    return;
  }
  const node_options& o = r.options;
  FUZZ_CHECK(o.write_quorum >= 1 && o.write_quorum <= o.replication_factor);
  FUZZ_CHECK(o.auth == auth_mode::none || !o.auth_key.empty());
  FUZZ_CHECK(!o.data_dir.empty() && o.tls_cert.empty() == o.tls_key.empty());
  options_result again = parse_config_text(to_ini(o), "again.ini");
  FUZZ_CHECK(again.status == options_result::kind::ok);
  FUZZ_CHECK(same(again.options, o));
}

void check_peers(const std::string& text) {
  auto parsed = parse_peer_list(text);
  if (!parsed) {
    FUZZ_CHECK(parsed.error().code() == errc::config_error);
    FUZZ_CHECK(parsed.error().reason().compare(0, 9, "bad peer ") == 0);
    return;
  }
  const std::vector<peer_address>& peers = *parsed;
  FUZZ_CHECK(peers.size() <= 1024);
  for (std::size_t i = 0; i < peers.size(); ++i) {
    const auto& p = peers[i];
    FUZZ_CHECK(!p.host.empty() && p.port >= 1);
    FUZZ_CHECK(p.host.find_first_of(" \t\r\n\f\v[],@") == std::string::npos);
    for (std::size_t j = 0; j < i; ++j)
      FUZZ_CHECK(!(peers[j] == p));
  }
  auto again = parse_peer_list(peer_list(peers));
  FUZZ_CHECK(again && *again == peers);
  for (std::size_t i = 0; i < peers.size(); ++i) // == leaves the region out
    FUZZ_CHECK((*again)[i].region == peers[i].region);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(bytes), size);
  check_config(text);
  check_peers(text);
  return 0;
}
