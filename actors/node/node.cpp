#include "actors/node/node.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <thread>
#include <unordered_map>

#include "actors/admission/protected_mode.hpp"
#include "actors/cluster/cluster_metrics.hpp"
#include "actors/durability/storage_actor.hpp"
#include "actors/durability/storage_metrics.hpp"
#include "actors/durability/sync_actor.hpp"
#include "actors/io/connections_actor.hpp"
#include "actors/io/io_metrics.hpp"
#include "actors/node/caf_config.hpp"
#include "actors/node/stop_actor.hpp"
#include "actors/telemetry/health.hpp"
#include "actors/telemetry/log.hpp"
#include "actors/telemetry/process_metrics.hpp"
#include "protocol/unique_fd.hpp"

namespace minivault {

namespace {

/// Default: one I/O thread per core but one, which is left to the storage writer (the
/// other hot thread under writes). On the 2-core machine this was measured on, two I/O
/// threads were slower than one at every workload (make bench: GET 1.6 vs 1.3 M/s at 16
/// in flight), because they competed with the writer and the client for two cores.
std::size_t io_thread_count(const node_options& o) {
  if (o.io_threads > 0) return o.io_threads;
  auto hw = std::thread::hardware_concurrency();
  return hw <= 2 ? 1 : hw - 1;
}

/// The cluster's regions (this node's first) with their nodes and how many are up, and
/// for the others what this node has yet to ship there (`geo`). A peer view's address is
/// its member name (placement.hpp).
std::vector<region_view> region_views(const placement& pl, const std::vector<peer_view>& peers,
                                      const geo_counters& geo) {
  std::vector<region_view> out(pl.regions());
  const std::uint64_t now = storage::wall_ms();
  for (std::size_t r = 0; r < pl.regions(); ++r) {
    out[r].name = pl.region_name(r);
    out[r].nodes = pl.region_members(r);
    if (r == 0) continue;
    out[r].remote = true;
    out[r].backlog_writes = geo.backlog_writes[r].load(std::memory_order_relaxed);
    out[r].oldest_unshipped_ms = geo.unshipped_age_ms(r, now);
    out[r].lag_ms = geo.last_lag_ms[r].load(std::memory_order_relaxed);
  }
  out[0].nodes_up = 1; // this node
  std::unordered_map<std::string, std::size_t> region_of;
  for (member_id m : pl.all())
    region_of.emplace(pl.name(m), pl.region_of(m));
  for (const peer_view& v : peers)
    if (auto it = region_of.find(v.address); it != region_of.end() && v.state == peer_state::up)
      ++out[it->second].nodes_up;
  return out;
}

/// Raises the soft descriptor limit to the hard one and keeps `max_connections` under
/// it (with headroom for SQLite, epoll and eventfds), so accept() never runs dry first.
std::size_t clamp_to_fd_limit(std::size_t max_connections) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return max_connections;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &lim);
    (void)::getrlimit(RLIMIT_NOFILE, &lim);
  }
  constexpr rlim_t headroom = 64;
  std::size_t fit = lim.rlim_cur > headroom ? static_cast<std::size_t>(lim.rlim_cur - headroom) : 1;
  if (max_connections > fit) {
    log(log_level::warning, "max-connections " + std::to_string(max_connections) +
                                " exceeds the open-file limit; using " + std::to_string(fit));
    return fit;
  }
  return max_connections;
}

std::string hex_id(std::uint32_t id) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%08x", id);
  return buf;
}

} // namespace

node::node(const node_options& opts)
    : opts_(opts), started_(std::chrono::steady_clock::now()), tokens_(opts.rate_limit_ops),
      ip_limits_(opts.rate_limit_per_ip_ops) {}

result<std::unique_ptr<node>> node::start(const node_options& opts, const front_codec* http) {
  std::unique_ptr<node> n(new node(opts));
  if (status opened = n->open_store(); !opened) return opened;
  const bool clustered = !opts.peers.empty();
  if (clustered)
    if (status configured = n->configure_cluster(); !configured) return configured;
  n->opts_.max_connections = clamp_to_fd_limit(opts.max_connections);
  // Closed by their owners on every early return below; the connections actor takes
  // them over once it is spawned.
  auto listener = open_listener(opts.bind_address, opts.port);
  if (!listener) return listener.error();
  unique_fd front_listener; // HTTP's, with -http
  if (opts.http_port != 0) {
    if (!http)
      return status(errc::config_error, "-http was given but this program has no HTTP front-end");
    n->ctx_.front = http;
    auto opened = open_listener(opts.bind_address, opts.http_port);
    if (!opened) return opened.error();
    front_listener = std::move(*opened);
  }
  const std::size_t threads = io_thread_count(opts);
  n->spawn_core(threads, clustered);
  if (clustered)
    if (status started = n->start_cluster(); !started) return started;
  n->serve(std::move(*listener), std::move(front_listener), threads);
  return n;
}

status node::open_store() {
  storage::engine_options eo;
  eo.dir = opts_.data_dir;
  eo.cache_bytes_max = opts_.cache_mb << 20;
  eo.fsync = opts_.fsync;
  eo.compress_bytes_min = opts_.compress_bytes_min;
  eo.value_bytes_max = opts_.value_bytes_max;
  eo.background_checkpoints = true; // the sync actor checkpoints, not the writer
  auto opened = storage::engine::open(eo);
  if (!opened) return opened.error();
  engine_ = std::move(opened).value();
  auto st = engine_->stats();
  node_id_ = opts_.node_name.empty() ? hex_id(st.node_id) : opts_.node_name;
  if (st.corrupt_records_cut > 0)
    log(log_level::warning,
        "cut " + std::to_string(st.corrupt_records_cut) +
            " damaged log row tail(s) at open (copies kept in table quarantine)");
  log(log_level::info, "opened " + opts_.data_dir + ": " + std::to_string(st.keys) + " keys");
  return {};
}

status node::configure_cluster() {
  cluster_ = std::make_unique<cluster>();
  if (status configured = cluster_->configure(opts_); !configured) return configured;
  // No tombstone may go before anti-entropy has seen the peers hold it (it raises the
  // horizon); the storage actor starts compacting before the cluster actors exist.
  engine_->set_tombstone_horizon_ms(0);
  return {};
}

void node::spawn_core(std::size_t threads, bool clustered) {
  board_ = std::make_unique<completion_board>(threads);
  metrics_ = std::make_unique<node_metrics>(threads);
  cfg_ = make_caf_config(clustered, opts_);
  sys_ = std::make_unique<caf::actor_system>(*cfg_);
  writer_ = std::make_unique<group_commit>(*engine_, *board_, &metrics_->commit_batch_writes);
  storage_ =
      sys_->spawn<caf::detached>(storage_actor_impl, engine_.get(), writer_.get(), board_.get(),
                                 opts_.fsync, std::chrono::milliseconds(storage_tick_ms));
  writer_->set_wake_writer([s = storage_] { caf::anon_send(s, flush_atom_v); });
  sync_ = sys_->spawn<caf::detached>(sync_actor_impl, engine_.get(), opts_.fsync,
                                     std::chrono::milliseconds(opts_.fsync_interval_ms));
  ctx_.options = &opts_;
  ctx_.engine = engine_.get();
  ctx_.storage = storage_;
  // One node: I/O threads commit their own batches when the writer role is free. A
  // cluster sends them to the replication actor instead (cluster::start, below).
  if (!clustered) ctx_.writer = writer_.get();
  ctx_.board = board_.get();
  ctx_.metrics = metrics_.get();
  ctx_.tokens = &tokens_;
  ctx_.ip_limits = &ip_limits_;
  if (tokens_.enabled() || ip_limits_.enabled())
    rate_limiter_ = sys_->spawn(rate_limiter_actor_impl, &tokens_, &ip_limits_);
  ctx_.health_json = [this] { return health_json(); };
  ctx_.metrics_text = [this] { return metrics_text(); };
  if (status registered = register_metrics(); !registered.ok()) {
    // Fixed names and help texts: only a programming error gets here.
    log(log_level::error, "metrics: " + registered.reason());
    KV_ASSERT(registered.ok());
  }
  ctx_.on_fatal = [this](const std::string& why) {
    log(log_level::error, "fatal: " + why + "; stopping");
    failed_ = true;
    ::kill(::getpid(), SIGTERM); // main() waits for it and stops the node in order
  };
}

status node::start_cluster() {
  if (status started =
          cluster_->start(*sys_, opts_, node_id_, *engine_, storage_, *board_, writer_.get());
      !started)
    return started;
  ctx_.replication = cluster_->replication;
  ctx_.place = cluster_->place.get();
  return {};
}

void node::serve(unique_fd listener, unique_fd front_listener, std::size_t threads) {
  ctx_.front_listen_fd = front_listener.release(); // -1 without -http
  connections_ =
      sys_->spawn<caf::detached>(connections_actor_impl, &ctx_, listener.release(), threads);
  log(log_level::info, "node " + node_id_ + " serving the binary protocol on " +
                           opts_.bind_address + ":" + std::to_string(opts_.port) + " with " +
                           std::to_string(threads) + " I/O threads");
  if (opts_.http_port != 0)
    log(log_level::info,
        "serving HTTP/JSON on " + opts_.bind_address + ":" + std::to_string(opts_.http_port));
  if (auto notice = protected_mode_notice(opts_); !notice.empty()) log(log_level::warning, notice);
}

std::string node::health_json() const {
  health_inputs in;
  in.node_id = node_id_;
  in.region = opts_.region;
  in.uptime_seconds = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_)
          .count());
  in.storage = engine_->stats();
  in.connections = ctx_.open_connections.load();
  if (cluster_) {
    in.cluster_port = cluster_->port;
    in.peers = cluster_->peers.peers(in.all_peers_up);
    in.regions = region_views(*cluster_->place, in.peers, cluster_->geo_stats);
    in.write_quorum_reachable = in.regions[0].nodes_up >= opts_.write_quorum;
  }
  return render_health(in);
}

std::string node::metrics_text() const {
  return metrics_registry_.render();
}

status node::register_metrics() {
  // Registration order is the order of /metrics.
  status st = register_io_metrics(metrics_registry_, ctx_);
  if (st.ok())
    st = register_storage_metrics(metrics_registry_, *engine_, metrics_->commit_batch_writes);
  if (st.ok() && cluster_) st = register_cluster_metrics(metrics_registry_, *cluster_);
  if (st.ok()) st = register_process_metrics(metrics_registry_, started_);
  metrics_registry_.seal();
  return st;
}

void node::stop() {
  if (stopped_ || !sys_) return;
  stopped_ = true;
  caf::scoped_actor self{*sys_};
  // Connections first: they wait (bounded) for in-flight writes, which need replication.
  stop_actor(self, connections_, "connections");
  // No I/O thread commits any more. The wake-up holds a strong handle to the storage
  // actor, and a detached actor's thread ends only once the last handle is gone.
  ctx_.writer = nullptr;
  if (writer_) writer_->set_wake_writer(nullptr);
  if (cluster_) cluster_->stop(self);
  ctx_.replication = nullptr;
  stop_actor(self, storage_, "storage");
  stop_actor(self, sync_, "sync");
  stop_actor(self, rate_limiter_, "rate limiter");
  rate_limiter_ = nullptr;
  connections_ = nullptr;
  storage_ = nullptr;
  sync_ = nullptr;
  ctx_.storage = nullptr;
}

node::~node() {
  stop();
  sys_.reset(); // waits for every actor to finish
  engine_.reset();
}

} // namespace minivault
