#include "actors/cluster/cluster.hpp"

#include <caf/io/middleman.hpp>
#include <caf/openssl/publish.hpp>

#include "actors/admission/protected_mode.hpp"
#include "actors/cluster/replication/clock_lease.hpp"
#include "actors/node/stop_actor.hpp"
#include "actors/telemetry/log.hpp"

namespace minivault {

std::string member_name(const std::string& public_url) {
  std::string s = public_url;
  for (const char* scheme : {"http://", "https://", "tcp://"})
    if (s.rfind(scheme, 0) == 0) s.erase(0, std::char_traits<char>::length(scheme));
  while (!s.empty() && s.back() == '/')
    s.pop_back();
  return s;
}

std::string member_name(const peer_address& a) {
  return a.host + ":" + std::to_string(a.port);
}

status cluster::configure(const node_options& opts) {
  std::uint32_t cp = opts.cluster_port != 0 ? opts.cluster_port : opts.port + cluster_port_offset;
  if (cp > 65535) {
    return status(errc::config_error, "cluster port " + std::to_string(cp) + " (client port + " +
                                          std::to_string(cluster_port_offset) +
                                          ") is not a port; set -cluster-port");
  }
  port = static_cast<std::uint16_t>(cp);
  const std::string self = member_name(opts.public_url);
  if (self.empty())
    return status(errc::config_error, "-public-url (this node's host:port as its peers list "
                                      "it) is required with peers");
  std::vector<placement::member> all{{self, opts.region}};
  members = peer_map{};
  std::vector<std::string> regions{opts.region};
  for (const auto& p : opts.peers) {
    std::string n = member_name(p);
    const std::string& region = p.region.empty() ? opts.region : p.region;
    if (n == self) {
      if (region != opts.region)
        return status(errc::config_error, "CLUSTER_NODES lists this node (" + n + ") in region " +
                                              region + ", but -region is " + opts.region);
      members.add(std::nullopt); // CLUSTER_NODES may list every node, this one included
      continue;
    }
    if (std::find(regions.begin(), regions.end(), region) == regions.end())
      regions.push_back(region);
    members.add(member_id{static_cast<std::uint32_t>(all.size())});
    all.push_back({std::move(n), region});
  }
  if (regions.size() > regions_max)
    return status(errc::config_error, "CLUSTER_NODES names " + std::to_string(regions.size()) +
                                          " regions; at most " + std::to_string(regions_max));
  const std::size_t local =
      std::count_if(all.begin(), all.end(), [&](const auto& m) { return m.region == opts.region; });
  if (opts.write_quorum > std::min(opts.replication_factor, local)) {
    return status(errc::config_error, "write-quorum " + std::to_string(opts.write_quorum) +
                                          " needs at least that many replicas, but region " +
                                          opts.region + " has " + std::to_string(local) +
                                          " node(s) and replication-factor " +
                                          std::to_string(opts.replication_factor));
  }
  place = std::make_shared<placement>(std::move(all), opts.replication_factor);
  return {};
}

status cluster::start(caf::actor_system& sys, const node_options& opts, const std::string& node_id,
                      storage::engine& engine, const storage_actor& storage,
                      completion_board& board, group_commit* writer) {
  writer_ = writer;
  // Seeded past every version this node may have handed out (clock_lease.hpp).
  const std::string lease_path = opts.data_dir + "/clock";
  const std::uint64_t lease = read_clock_lease(lease_path);
  clock = std::make_unique<cluster_clock>(engine.node_id(), std::max(engine.last_hlc(), lease));
  open_repair_marks(opts);
  spawn_repair(sys, opts, engine, storage);
  spawn_shipper(sys, opts, engine, storage);
  spawn_replication(sys, opts, engine, storage, board, lease_path, lease);
  // The endpoint hands hellos to membership, which is spawned after it (it needs the
  // endpoint's handle): a slot filled below.
  auto membership_slot = std::make_shared<membership_actor>();
  if (status published = publish_endpoint(sys, opts, node_id, engine, storage, membership_slot);
      !published)
    return published;
  spawn_membership(sys, opts, node_id);
  *membership_slot = membership;
  log(log_level::info, "cluster: member " + place->name(self_member) + ", " +
                           std::to_string(place->members()) + " member(s), replication factor " +
                           std::to_string(place->replicas_per_partition()) + ", write quorum " +
                           std::to_string(opts.write_quorum) + ", peers on port " +
                           std::to_string(port));
  return {};
}

void cluster::open_repair_marks(const node_options& opts) {
  if (place->regions() < 2) return;
  std::vector<std::string> names{std::string{}};
  for (std::size_t r = 1; r < place->regions(); ++r)
    names.push_back(place->region_name(r));
  auto opened = repair_marks::open(opts.data_dir + "/repair_marks.db", std::move(names));
  if (opened) {
    marks = std::move(*opened);
  } else {
    log(log_level::error, "cross-region repair marks disabled: " + opened.error().reason() +
                              " (writes past the outbox's bound are repaired by the periodic "
                              "comparison only)");
  }
}

void cluster::spawn_repair(caf::actor_system& sys, const node_options& opts,
                           storage::engine& engine, const storage_actor& storage) {
  handoff_config hc;
  hc.path = opts.data_dir + "/hints.db";
  for (const auto& p : opts.peers)
    hc.peer_names.push_back(member_name(p));
  for (peer_id p : members.all()) {
    auto m = members.member_of(p);
    hc.peer_regions.push_back(m ? place->region_of(*m) : 0);
  }
  // Scheduled, not detached, although it touches SQLite (small inserts, reads of at most
  // one delivery chunk): a detached actor that had exchanged messages with a restarted
  // peer was sometimes still referenced inside CAF after it quit, and the actor system's
  // shutdown then waited forever for its thread (found by the SIGTERM-after-catch-up
  // test; in 9 of 9 hung processes it was this actor).
  handoff = sys.spawn(handoff_actor_impl, std::move(hc), &handoff_stats);

  anti_entropy_config ac;
  ac.members = members;
  ac.timeout =
      std::max(std::chrono::milliseconds(opts.request_timeout_ms), std::chrono::milliseconds(5000));
  anti_entropy = sys.spawn<caf::detached>(anti_entropy_actor_impl, std::move(ac), &engine, storage,
                                          clock.get(), place, &anti_entropy_stats, marks.get());
}

void cluster::spawn_shipper(caf::actor_system& sys, const node_options& opts,
                            storage::engine& engine, const storage_actor& storage) {
  if (place->regions() < 2) return;
  shipper_config sc;
  sc.path = opts.data_dir + "/outbox.db";
  sc.rows_max = opts.geo_backlog_max;
  sc.members = members;
  sc.timeout =
      std::max(std::chrono::milliseconds(opts.request_timeout_ms), std::chrono::milliseconds(5000));
  // Scheduled, like handoff (see spawn_repair): it exchanges messages with peers that
  // may restart. Its SQLite work is one small transaction per group commit.
  shipper = sys.spawn(shipper_actor_impl, std::move(sc), place, &engine, &geo_stats, marks.get());
  caf::anon_send(storage, outbox_atom_v, shipper);
}

void cluster::spawn_replication(caf::actor_system& sys, const node_options& opts,
                                storage::engine& engine, const storage_actor& storage,
                                completion_board& board, const std::string& lease_path,
                                std::uint64_t lease) {
  replication_config rc;
  rc.write_quorum = opts.write_quorum;
  rc.timeout = std::chrono::milliseconds(opts.request_timeout_ms);
  rc.workers = opts.workers;
  rc.members = members;
  rc.lease_path = lease_path;
  rc.lease = lease;
  replication_services rs;
  rs.place = place;
  rs.clock = clock.get();
  rs.engine = &engine;
  rs.storage = storage;
  rs.writer = writer_;
  rs.shipper = shipper;
  rs.handoff = handoff;
  rs.board = &board;
  rs.counters = &replication_stats;
  rs.hints = &handoff_stats;
  replication = sys.spawn(replication_actor_impl, std::move(rc), std::move(rs));
}

status cluster::publish_endpoint(caf::actor_system& sys, const node_options& opts,
                                 const std::string& node_id, storage::engine& engine,
                                 const storage_actor& storage,
                                 std::shared_ptr<membership_actor> membership_slot) {
  endpoint_config ec{node_id,
                     opts.region,
                     opts.auth_key,
                     [membership_slot](const std::string& id, const caf::strong_actor_ptr& ep) {
                       if (*membership_slot) caf::anon_send(*membership_slot, hello_atom_v, id, ep);
                     },
                     storage,
                     writer_,
                     anti_entropy,
                     &engine,
                     clock.get(),
                     replication,
                     shipper};
  endpoint = sys.spawn(peer_endpoint_impl, std::move(ec));
  const bool tls = !opts.tls_cert.empty();
  // In protected mode peers, like clients, may only come from loopback (protected_mode.hpp).
  const std::string listen = protected_mode_active(opts) ? "127.0.0.1" : opts.bind_address;
  auto published = tls ? caf::openssl::publish(endpoint, port, listen.c_str(), true)
                       : sys.middleman().publish(endpoint, port, listen.c_str(), true);
  if (!published)
    return status(errc::io_error, "cannot listen for peers on " + listen + ":" +
                                      std::to_string(port) + ": " + sys.render(published.error()));
  return {};
}

void cluster::spawn_membership(caf::actor_system& sys, const node_options& opts,
                               const std::string& node_id) {
  membership_config mc;
  mc.node_id = node_id;
  mc.region = opts.region;
  mc.peers = opts.peers;
  mc.board = &peers;
  mc.secret = opts.auth_key;
  mc.tls = !opts.tls_cert.empty();
  mc.self_name = place->name(self_member);
  mc.timing.jitter_percent = 50;
  mc.own_endpoint = caf::actor_cast<caf::strong_actor_ptr>(endpoint);
  mc.on_peer_change = [r = replication, h = handoff, a = anti_entropy,
                       s = shipper](peer_id peer, const caf::strong_actor_ptr& ep) {
    if (ep) {
      caf::anon_send(r, peer_up_atom_v, peer, ep);
      caf::anon_send(h, peer_up_atom_v, peer, ep);
      caf::anon_send(a, peer_up_atom_v, peer, ep);
      if (s) caf::anon_send(s, peer_up_atom_v, peer, ep);
    } else {
      caf::anon_send(r, peer_down_atom_v, peer);
      caf::anon_send(h, peer_down_atom_v, peer);
      caf::anon_send(a, peer_down_atom_v, peer);
      if (s) caf::anon_send(s, peer_down_atom_v, peer);
    }
  };
  membership = sys.spawn(membership_actor_impl, std::move(mc));
}

void cluster::stop(caf::scoped_actor& self) {
  stop_actor(self, replication, "replication");
  replication = nullptr;
  stop_actor(self, membership, "membership");
  membership = nullptr;
  stop_actor(self, anti_entropy, "anti-entropy");
  anti_entropy = nullptr;
  if (shipper) {
    stop_actor(self, shipper, "shipper");
    shipper = nullptr;
  }
  stop_actor(self, handoff, "handoff");
  handoff = nullptr;
  if (endpoint) {
    caf::anon_send_exit(endpoint, caf::exit_reason::user_shutdown);
    endpoint = nullptr;
  }
}

} // namespace minivault
