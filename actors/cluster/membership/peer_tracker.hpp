#pragma once
// The membership decisions, without CAF: which peers to (re)try and when, when a silent
// peer counts as down, and what health shows. The membership actor feeds it events and
// carries out what it asks; tests drive it with explicit times.
//
// Per peer: `connecting` until the first connection, `up` while it answers heartbeats,
// `down` once it was lost (its connection closed, or it was silent for `down_after_ms`).
// Attempts back off exponentially from `backoff_min_ms` to `backoff_max_ms`; a peer that
// was up and is lost is retried after `backoff_min_ms`, so a restarted peer is back
// within a second. Every retry delay gets up to `jitter_percent` more, drawn from a
// generator seeded per node, so nodes that lost each other at the same instant (a
// partition healing) do not retry in lockstep.
//
// Who dials: exactly one side of each pair opens the connection (`dials_peer`). When both
// dial at once, each node's middleman ends up with two connections to the other and
// closes one; over a WAN (80 ms round trip, measured with tests/wan) the two sides often
// close different ones, so the link dropped every ~0.6 s and six nodes took up to 36 s
// to form.
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/options.hpp"

namespace minivault {

enum class peer_state : std::uint8_t { connecting, up, down };

[[nodiscard]] const char* to_string(peer_state s) noexcept;

/// What health shows of one peer.
struct peer_view {
  std::string address; // host:port of its client port, as configured
  peer_state state = peer_state::connecting;
  std::int64_t ms_since_heard = -1; // -1: never heard from
  std::string node_id;              // once known
  std::string region;               // once known
};

class peer_tracker {
public:
  struct timing {
    std::int64_t heartbeat_ms = 500;   // ping an up peer this often
    std::int64_t down_after_ms = 3000; // an up peer silent this long is down
    std::int64_t backoff_min_ms = 100;
    std::int64_t backoff_max_ms = 800;
    std::int64_t jitter_percent = 0; // each retry delay grows by up to this share
  };

  peer_tracker(std::vector<peer_address> peers, timing t, std::uint64_t jitter_seed = 0);

  [[nodiscard]] std::size_t size() const noexcept { return peers_.size(); }
  [[nodiscard]] const peer_address& address(std::size_t i) const { return peers_[i].address; }

  /// Peers whose next attempt is due; each is marked as being attempted.
  [[nodiscard]] std::vector<std::size_t> due_attempts(std::int64_t now_ms);
  /// The attempt failed (unreachable, refused, timed out): retry after the backoff.
  void attempt_failed(std::size_t i, std::int64_t now_ms);
  /// The entry turned out to be this node itself: never tried again, not shown.
  void is_self(std::size_t i);
  /// Connected and identified: up, heard now.
  void connected(std::size_t i, std::string node_id, std::string region, std::int64_t now_ms);
  /// A heartbeat answer (or any message) arrived.
  void heard(std::size_t i, std::int64_t now_ms);
  /// Its connection closed: down, retried soon.
  void lost(std::size_t i, std::int64_t now_ms);
  /// Up peers that must be pinged now (each is marked as pinged).
  [[nodiscard]] std::vector<std::size_t> due_heartbeats(std::int64_t now_ms);
  /// Up peers silent for too long: marked down (retried soon) and returned, so the
  /// caller can drop their handles.
  [[nodiscard]] std::vector<std::size_t> expire_silent(std::int64_t now_ms);

  [[nodiscard]] bool up(std::size_t i) const { return peers_[i].state == peer_state::up; }
  [[nodiscard]] std::vector<peer_view> snapshot(std::int64_t now_ms) const;
  /// True when every peer (this node excluded) is up.
  [[nodiscard]] bool all_up() const;

private:
  struct peer {
    peer_address address;
    peer_state state = peer_state::connecting;
    bool self = false;
    bool attempting = false;
    std::int64_t next_attempt_ms = 0;
    std::int64_t backoff_ms = 0;
    std::int64_t last_heard_ms = -1;
    std::int64_t last_ping_ms = 0;
    std::string node_id, region;
  };
  void retry_after(peer& p, std::int64_t now_ms, std::int64_t delay_ms);

  std::vector<peer> peers_;
  timing timing_;
  std::uint64_t jitter_state_; // splitmix64 state of the retry jitter
};

/// Hellos a node waits for from a peer that should dial it before it dials that peer
/// itself (the peer may not list this node: CLUSTER_NODES need not be symmetric).
inline constexpr std::uint32_t hello_waits_max = 2;

/// Does the node named `self_name` dial the peer named `peer_name` (member names,
/// host:port)? The name that sorts first dials, unless the other side has been awaited
/// `hello_waits_max` times in a row without a hello.
[[nodiscard]] bool dials_peer(const std::string& self_name, const std::string& peer_name,
                              std::uint32_t missed_hellos) noexcept;

} // namespace minivault
