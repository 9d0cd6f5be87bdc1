#pragma once
// The peer endpoint: the one actor a node publishes on its cluster port (README.md here).
//
// It is what peers may ask of this node, and nothing that controls it: the challenge and
// proof of the -auth handshake (peer_auth.hpp), heartbeats (ping), replicas' writes
// (replicate), partition digests, pulls and reads for anti-entropy and quorum reads, and
// the hello of a peer that dialed this node. With -auth, everything but the challenge and
// the proof is refused (errc::unauthorized) until the sending CAF node proved the secret.
// Anything outside the interface is dropped; the endpoint never quits on it.
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "actors/cluster/replication/cluster_clock.hpp"
#include "protocol/actors.hpp"
#include "storage/engine.hpp"

namespace minivault {

class group_commit; // actors/durability/group_commit.hpp

/// What the peer endpoint needs: who this node is, and the secret peers must prove.
struct endpoint_config {
  std::string node_id;
  std::string region;
  std::string secret; // empty: every peer is trusted
  /// A trusted peer's hello (TLS), handed to membership.
  std::function<void(const std::string&, const caf::strong_actor_ptr&)> on_hello;
  // Where peers' requests go (all optional: a missing one refuses those requests).
  storage_actor storage;             // replicate_atom
  group_commit* writer = nullptr;    // replicate_atom in place when the role is free
  anti_entropy_actor anti_entropy;   // pull_atom, keys_atom
  storage::engine* engine = nullptr; // digest_atom, read_atom
  cluster_clock* clock = nullptr;    // observes the versions peers send
  replication_actor relay;           // ship_atom (another region's writes)
  shipper_actor shipper;             // shipped_atom (null: one region)
};

/// Bounds of the endpoint's per-connection state (oldest entries go first).
inline constexpr std::size_t endpoint_challenges_max = 1024;
inline constexpr std::size_t endpoint_trusted_max = 1024;

struct endpoint_state {
  static inline const char* name = "minivault.peer_endpoint";
  endpoint_config config;
  std::map<caf::node_id, std::string> challenges; // nonce handed to each connecting node
  std::deque<caf::node_id> challenge_order;       // insertion order, for eviction
  std::set<caf::node_id> trusted;                 // nodes that proved the secret
  std::deque<caf::node_id> trusted_order;
  [[nodiscard]] bool trusts(const caf::strong_actor_ptr& sender) const;
};

/// The actor a node publishes on its cluster port (peer_endpoint_actor in
/// protocol/actors.hpp). Answers challenges and proofs from anyone; pings, replicate,
/// digest, pull, read and hello only from a trusted sender (every sender without -auth).
/// Replicate is delegated to `config.storage`, pull and read to `config.anti_entropy`,
/// ship to `config.relay`; shipped goes to `config.shipper`;
/// digests come from `config.engine`; a hello goes to `config.on_hello`. A request whose
/// target is missing from the config is refused with `caf::sec::invalid_argument`.
peer_endpoint_actor::behavior_type
peer_endpoint_impl(peer_endpoint_actor::stateful_pointer<endpoint_state> self,
                   endpoint_config config);

} // namespace minivault
