#pragma once
// The membership actor: knows the peers, connects to them, watches them.
//
// For each peer of CLUSTER_NODES (its client address), when an attempt is due:
//  1. a prober (one detached helper per peer) asks the peer's client port for HEALTH,
//     which names its node id, region and cluster port (the "hello");
//  2. an entry whose node id is this node's is this node: ignored from then on;
//  3. the middleman connects to host:cluster_port (a request with a timeout; it only
//     ever sees addresses that just answered), and the peer's published membership
//     actor is monitored;
//  4. while up, it is pinged every heartbeat; an answer is "heard". A peer silent for
//     down_after_ms (e.g. SIGSTOPped, whose TCP connection stays open) or whose handle
//     goes down is marked down and retried after backoff_min_ms.
// Decisions live in peer_tracker; this actor only carries them out. Every tick it
// publishes a snapshot to the peer_board that health reads.
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "actors/peer_tracker.hpp"
#include "protocol/actors.hpp"

namespace minivault {

inline constexpr std::uint32_t membership_tick_ms = 100;

/// The peers as health shows them. Written by the membership actor, read by any thread.
class peer_board {
public:
  void publish(std::vector<peer_view> peers, bool all_up) {
    std::lock_guard<std::mutex> lock(mutex_);
    peers_ = std::move(peers);
    all_up_ = all_up;
  }
  [[nodiscard]] std::vector<peer_view> peers(bool& all_up) const {
    std::lock_guard<std::mutex> lock(mutex_);
    all_up = all_up_;
    return peers_;
  }

private:
  mutable std::mutex mutex_;
  std::vector<peer_view> peers_; // guarded by mutex_
  bool all_up_ = false;          // guarded by mutex_
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
};

struct membership_state {
  static inline const char* name = "minivault.membership";
  std::unique_ptr<peer_tracker> tracker;
  membership_config config;
  std::vector<prober_actor> probers;     // one per peer
  std::vector<membership_actor> handles; // the peers' membership actors while up
  std::chrono::steady_clock::time_point started;
  std::map<caf::node_id, std::string> challenges; // nonce handed to each connecting node
  std::set<caf::node_id> trusted;                 // nodes that proved the secret
  /// True if the current message's sender may be served (-auth: it authenticated).
  [[nodiscard]] bool sender_trusted(const caf::strong_actor_ptr& sender) const;
  [[nodiscard]] std::int64_t now_ms() const;
};

membership_actor::behavior_type
membership_actor_impl(membership_actor::stateful_pointer<membership_state> self,
                      membership_config config);

/// The prober of one peer's client port (spawn detached: it blocks).
prober_actor::behavior_type prober_actor_impl(prober_actor::pointer self,
                                              std::chrono::milliseconds timeout);

} // namespace minivault
