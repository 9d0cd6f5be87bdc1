#pragma once
// The membership actor: knows the peers, connects to them, watches them.
//
// For each peer of CLUSTER_NODES (its client address), when an attempt is due:
//  1. a prober (one detached helper per peer) asks the peer's client port for HEALTH,
//     which names its node id, region and cluster port (the "hello");
//  2. an entry whose node id is this node's is this node: ignored from then on;
//  3. of each pair only one side dials (peer_tracker.hpp: dials_peer): the middleman
//     connects to host:cluster_port (a request with a timeout; it only ever sees
//     addresses that just answered), the peer's published endpoint is monitored, and a
//     hello introduces this node's endpoint to the peer, which was waiting for it;
//  4. while up, it is pinged every heartbeat; an answer is "heard". A peer silent for
//     down_after_ms (e.g. SIGSTOPped, whose TCP connection stays open) or whose handle
//     goes down is marked down and retried after backoff_min_ms.
// Decisions live in peer_tracker; this actor only carries them out. Every tick it
// publishes a snapshot to the peer_board that health reads. The peers' pings (and
// everything else they ask) are answered by the peer endpoint
// (actors/cluster/endpoint/peer_endpoint.hpp), which hands hellos to this actor.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/cluster/membership/peer_tracker.hpp"
#include "protocol/actors.hpp"
#include "protocol/thread_annotations.hpp"

namespace minivault {

inline constexpr std::uint32_t membership_tick_ms = 100;

/// The peers as health shows them. Written by the membership actor, read by any thread.
class peer_board {
public:
  void publish(std::vector<peer_view> peers, bool all_up) {
    lock_guard lock(mutex_);
    peers_ = std::move(peers);
    all_up_ = all_up;
  }
  [[nodiscard]] std::vector<peer_view> peers(bool& all_up) const {
    lock_guard lock(mutex_);
    all_up = all_up_;
    return peers_;
  }

private:
  mutable minivault::mutex mutex_;
  std::vector<peer_view> peers_ MV_GUARDED_BY(mutex_);
  bool all_up_ MV_GUARDED_BY(mutex_) = false;
};

struct membership_config {
  std::string node_id; // this node's
  std::string region;
  std::vector<peer_address> peers;
  peer_tracker::timing timing;
  std::chrono::milliseconds probe_timeout{500};
  std::chrono::milliseconds connect_timeout{2000};
  peer_board* board = nullptr; // owned by the node, outlives the actor
  std::string secret;          // -auth: peers must prove it (empty: every peer is trusted)
  /// Connect through CAF's OpenSSL manager (-tls-cert) instead of plain BASP.
  bool tls = false;
  std::string self_name;              // this node's member name (decides who dials)
  caf::strong_actor_ptr own_endpoint; // what the hello introduces
  /// Told (on the membership actor's thread) when a peer (`peers[p]`) comes up (with its
  /// endpoint) or goes down (nullptr): the node forwards it to replication, handoff,
  /// anti-entropy.
  std::function<void(peer_id, const caf::strong_actor_ptr&)> on_peer_change;
};

struct membership_state {
  static inline const char* name = "minivault.membership";
  std::unique_ptr<peer_tracker> tracker;
  membership_config config;
  std::vector<prober_actor> probers;        // one per peer
  std::vector<peer_endpoint_actor> handles; // the peers' endpoints while up
  std::vector<probe_result> probed;         // what each peer's probe found
  std::vector<std::int64_t> await_until_ms; // waiting for a hello until then (0: not)
  std::vector<std::uint32_t> missed_hellos; // waits in a row that ended with no hello
  std::chrono::steady_clock::time_point started;
  [[nodiscard]] std::int64_t now_ms() const;
};

membership_actor::behavior_type
membership_actor_impl(membership_actor::stateful_pointer<membership_state> self,
                      membership_config config);

/// The prober of one peer's client port (spawn detached: it blocks).
prober_actor::behavior_type prober_actor_impl(prober_actor::pointer self,
                                              std::chrono::milliseconds timeout);

} // namespace minivault
