#pragma once
// The cluster side of a node: the actors that exist only with peers, assembled and torn
// down in order. The node owns one of these when CLUSTER_NODES names peers.
//
//   I/O threads --client_batch--> replication --> storage (local replica)
//                                     │    └----> peers' endpoints (remote replicas)
//                                     └ missed --> handoff (hints.db) --> peer, when up
//   anti-entropy <--> peers' endpoints (digests, pulls) --> storage
//   storage --committed local-level writes--> shipper (outbox.db) --> a relay per other
//     region (its replication actor) --> that region's replicas
//   membership: finds, authenticates and watches peers; tells replication, handoff, anti-entropy
//   and the shipper endpoint (published on the cluster port): what peers may ask of this node
#include <memory>
#include <string>

#include "actors/cluster/endpoint/peer_endpoint.hpp"
#include "actors/cluster/geo/shipper_actor.hpp"
#include "actors/cluster/membership/membership_actor.hpp"
#include "actors/cluster/repair/anti_entropy_actor.hpp"
#include "actors/cluster/repair/handoff_actor.hpp"
#include "actors/cluster/replication/cluster_clock.hpp"
#include "actors/cluster/replication/placement.hpp"
#include "actors/cluster/replication/replication_actor.hpp"
#include "protocol/options.hpp"
#include "protocol/status.hpp"

namespace minivault {

/// This node's member name: -public-url without a scheme or trailing slash.
[[nodiscard]] std::string member_name(const std::string& public_url);
/// A CLUSTER_NODES entry's member name.
[[nodiscard]] std::string member_name(const peer_address& a);

struct cluster {
  std::unique_ptr<cluster_clock> clock;
  std::shared_ptr<const placement> place;
  peer_map members; // which member each CLUSTER_NODES entry is
  replication_counters replication_stats;
  handoff_counters handoff_stats;
  anti_entropy_counters anti_entropy_stats;
  geo_counters geo_stats;
  /// Partitions to repair with other regions first (null with one region, or when
  /// repair_marks.db cannot be opened: then the periodic comparison covers them).
  std::unique_ptr<repair_marks> marks;
  replication_actor replication;
  handoff_actor handoff;
  anti_entropy_actor anti_entropy;
  shipper_actor shipper; // null with one region
  membership_actor membership;
  peer_endpoint_actor endpoint;
  peer_board peers;
  std::uint16_t port = 0; // the cluster port

  /// Checks the cluster options and picks the cluster port (before any listener opens).
  /// Errors: `config_error`, the reason naming the option to fix.
  [[nodiscard]] status configure(const node_options& opts);
  /// Spawns the cluster actors and publishes the endpoint on the cluster port.
  /// `writer` (optional, outlives the cluster): replication and the endpoint commit this
  /// node's share of a batch in place through it when the writer role is free.
  /// Errors: `io_error` when the cluster port cannot be listened on.
  [[nodiscard]] status start(caf::actor_system& sys, const node_options& opts,
                             const std::string& node_id, storage::engine& engine,
                             const storage_actor& storage, completion_board& board,
                             group_commit* writer = nullptr);
  /// Stops replication first (pending writes are answered), then the rest. Idempotent.
  void stop(caf::scoped_actor& self);

private:
  group_commit* writer_ = nullptr; // see start()

  // The steps of start(), in order.
  void open_repair_marks(const node_options& opts);
  void spawn_repair(caf::actor_system& sys, const node_options& opts, storage::engine& engine,
                    const storage_actor& storage);
  void spawn_shipper(caf::actor_system& sys, const node_options& opts, storage::engine& engine,
                     const storage_actor& storage);
  void spawn_replication(caf::actor_system& sys, const node_options& opts, storage::engine& engine,
                         const storage_actor& storage, completion_board& board,
                         const std::string& lease_path, std::uint64_t lease);
  [[nodiscard]] status publish_endpoint(caf::actor_system& sys, const node_options& opts,
                                        const std::string& node_id, storage::engine& engine,
                                        const storage_actor& storage,
                                        std::shared_ptr<membership_actor> membership_slot);
  void spawn_membership(caf::actor_system& sys, const node_options& opts,
                        const std::string& node_id);
};

} // namespace minivault
