#pragma once
// Node configuration: every flag of protocol/README.md §7 (defaults in limits.hpp), parsed
// from the command line (`-flag v`, `-flag=v`, `--flag v`, `--flag=v`), an INI file
// (`-config FILE`, one key per flag, flags override the file) and the CLUSTER_NODES
// environment variable. Unknown keys and bad values are refused with a message naming
// the key (and the file line); nothing is silently defaulted.
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "protocol/consistency.hpp"
#include "protocol/limits.hpp"
#include "protocol/status.hpp"

namespace minivault {

enum class fsync_policy : std::uint8_t {
  none,     // acknowledged after write(2): survives SIGKILL, not power loss
  interval, // plus an fsync every `fsync_interval_ms`: power loss loses at most that window
  always,   // fsync before every acknowledgement (group commit amortises it)
};

enum class auth_mode : std::uint8_t { none, writes, all };

/// A CLUSTER_NODES entry: `host:port` of a node's client port, optionally `@region`
/// (protocol/README.md §4). An entry without a region is in this node's region.
struct peer_address {
  peer_address() = default;
  peer_address(std::string h, std::uint16_t p, std::string r = {})
      : host(std::move(h)), port(p), region(std::move(r)) {}

  std::string host;
  std::uint16_t port = 0;
  std::string region; // empty: this node's -region
  /// Same node (the region is not part of its identity).
  friend bool operator==(const peer_address& a, const peer_address& b) {
    return a.host == b.host && a.port == b.port;
  }
};

struct node_options {
  // the flags the original tool had
  std::uint16_t port = binary_port_default;                // -port
  std::uint16_t http_port = 0;                             // -http (0 = disabled)
  std::uint32_t http_timeout_ms = http_timeout_ms_default; // -http-timeout-ms
  std::string public_url;                                  // -public-url
  std::string data_dir = data_dir_default;                 // -data
  std::string auth_key;                                    // -auth
  auth_mode auth = auth_mode::none;                        // -authmode
  std::uint64_t rate_limit_ops = 0;                        // -ratelimit (0 = unlimited)
  std::uint64_t rate_limit_per_ip_ops = 0;                 // -ratelimit-per-ip (0 = unlimited)
  std::size_t cache_mb = cache_mb_default;                 // -cache
  std::size_t workers = workers_default;                   // -workers
  std::string config_file;                                 // -config
  // minivault settings (same key in flags and file)
  std::string bind_address = "0.0.0.0"; // -bind
  bool bind_explicit = false;           // -bind was given (flag or file)
  bool protected_mode = true; // -protected-mode yes|no (see actors/admission/protected_mode.hpp)
  std::string region = region_default;     // -region
  std::string node_name;                   // -node-id ("" = generated, kept in data)
  fsync_policy fsync = fsync_policy::none; // -fsync
  std::uint32_t fsync_interval_ms = fsync_interval_ms_default; // -fsync-interval-ms
  std::size_t value_bytes_max = value_bytes_max_default;       // -value-max-bytes
  std::size_t compress_bytes_min = compress_bytes_min_default; // -compress-min-bytes
  std::size_t io_threads = 0;                            // -io-threads (0 = cores - 1, at least 1)
  std::size_t max_connections = connections_max_default; // -max-connections
  std::size_t replication_factor = replication_factor_default; // -replication-factor
  std::size_t write_quorum = write_quorum_default;             // -write-quorum
  consistency write_consistency = consistency::local_quorum;   // -write-consistency
  consistency read_consistency = consistency::local_quorum;    // -read-consistency (QGET)
  std::size_t geo_backlog_max = geo_backlog_max_default;       // -geo-backlog-max
  std::uint16_t cluster_port = 0; // -cluster-port (0 = client port + cluster_port_offset)
  std::uint32_t request_timeout_ms = request_timeout_ms_default; // -request-timeout-ms
  std::uint32_t stall_timeout_ms = stall_timeout_ms_default;     // -stall-timeout-ms
  std::string log_level = "info";        // -log-level: error|warning|info|debug
  std::string tls_cert, tls_key, tls_ca; // -tls-cert, -tls-key, -tls-ca
  std::vector<peer_address> peers;       // CLUSTER_NODES / -cluster-nodes
};

/// Outcome of parsing: either options, a request for help (`-h`), or an error message
/// that names the offending key (and `file:line` for config files).
struct options_result {
  enum class kind : std::uint8_t { ok, help, error } status = kind::ok;
  node_options options;
  std::string message; // the error, or the help text
};

/// Parses argv (argv[0] skipped) and `cluster_nodes_env` (the CLUSTER_NODES variable,
/// nullptr when unset). Reads the config file named by -config, if any; flags given on
/// the command line override values from the file; CLUSTER_NODES overrides both for peers.
[[nodiscard]] options_result parse_options(int argc, const char* const* argv,
                                           const char* cluster_nodes_env);

/// Parses INI text as a config file would be (for tests); `origin` names it in errors.
[[nodiscard]] options_result parse_config_text(const std::string& text, const std::string& origin,
                                               node_options base = {});

/// The `-h` text: every option with its default and meaning.
[[nodiscard]] std::string options_help();

/// Parses "host:port,host:port" (whitespace tolerated). Errors name the bad entry.
/// Duplicates are dropped. Errors: `config_error`.
[[nodiscard]] result<std::vector<peer_address>> parse_peer_list(const std::string& text);

[[nodiscard]] const char* to_string(fsync_policy p) noexcept;
[[nodiscard]] const char* to_string(auth_mode m) noexcept;

} // namespace minivault
