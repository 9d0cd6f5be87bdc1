// Message flow (each handler below is one named function, or delegate_trusted):
//   (challenge_atom, nonce_a)                       --> (nonce_b, node_id, proof_b)
//   (peer_auth_atom, node_a, nonce_b, proof_a)      --> true: the sender's node is trusted
//   (ping_atom, from)                 trusted only  --> (node_id, region)
//   (replicate_atom, versioned_writes) trusted only --> clock.observe; committed here if
//                                                       the writer role is free, else
//                                                       delegated to storage
//   digest_atom                       trusted only  --> engine.partition_digests, packed
//   (pull_atom, partition(s), have)   trusted only  --> delegated to anti-entropy
//   (read_atom, count, keys)          trusted only  --> the keys' records, from the engine
//   (keys_atom, partitions)           trusted only  --> delegated to anti-entropy
//   (ship_atom, ship_batch)           trusted only  --> delegated to replication (relay)
//   (shipped_atom, region, keys)      trusted only  --> the shipper
//   (hello_atom, node_id, endpoint)   trusted only  --> on_hello (membership)
#include "actors/cluster/endpoint/peer_endpoint.hpp"

#include "actors/cluster/membership/peer_auth.hpp"
#include "actors/cluster/repair/anti_entropy_actor.hpp" // records_of
#include "actors/cluster/repair/cluster_codec.hpp"
#include "actors/durability/storage_actor.hpp"
#include "actors/telemetry/log.hpp"
#include "protocol/security.hpp"

namespace minivault {

bool endpoint_state::trusts(const caf::strong_actor_ptr& sender) const {
  return config.secret.empty() || (sender && trusted.count(sender->node()) > 0);
}

namespace {

using self_ptr = peer_endpoint_actor::stateful_pointer<endpoint_state>;

caf::result<std::string, std::string, std::string> on_challenge(self_ptr self,
                                                                const std::string& nonce_a) {
  auto& st = self->state;
  const auto& sender = self->current_sender();
  if (!sender) return caf::make_error(caf::sec::invalid_argument);
  std::string nonce_b = make_nonce();
  if (st.challenges.insert_or_assign(sender->node(), nonce_b).second) {
    // Bounded: past the limit the oldest open challenge goes (that peer retries),
    // so strangers cannot wipe everyone's handshakes at once.
    st.challenge_order.push_back(sender->node());
    while (st.challenge_order.size() > endpoint_challenges_max) {
      st.challenges.erase(st.challenge_order.front());
      st.challenge_order.pop_front();
    }
  }
  return {nonce_b, st.config.node_id,
          peer_proof(st.config.secret, "server", nonce_a, st.config.node_id)};
}

caf::result<bool> on_proof(self_ptr self, const std::string& node_a, const std::string& nonce_b,
                           const std::string& proof_a) {
  auto& st = self->state;
  const auto& sender = self->current_sender();
  if (!sender) return false;
  auto it = st.challenges.find(sender->node());
  if (it == st.challenges.end() || it->second != nonce_b) return false;
  st.challenges.erase(it); // each nonce is good for one proof
  if (!constant_time_equal(proof_a, peer_proof(st.config.secret, "client", nonce_b, node_a))) {
    log(log_level::warning,
        "a peer claiming to be " + node_a + " failed to prove the cluster secret");
    return false;
  }
  if (st.trusted.insert(sender->node()).second) {
    st.trusted_order.push_back(sender->node());
    while (st.trusted_order.size() > endpoint_trusted_max) { // the oldest re-proves
      st.trusted.erase(st.trusted_order.front());
      st.trusted_order.pop_front();
    }
  }
  return true;
}

caf::result<std::string, std::string> on_ping(self_ptr self) {
  if (!self->state.trusts(self->current_sender())) return caf::make_error(errc::unauthorized);
  return {self->state.config.node_id, self->state.config.region};
}

caf::result<replica_ack> on_replicate(self_ptr self, versioned_writes& b) {
  auto& st = self->state;
  if (!st.trusts(self->current_sender())) return caf::make_error(errc::unauthorized);
  if (!st.config.storage) return caf::make_error(caf::sec::invalid_argument);
  if (st.config.clock) st.config.clock->observe(max_version(b.ops, b.count));
  // In place when the writer role is free and no other message waits here: no hop
  // through the storage actor's thread. Under load the storage actor takes it, and
  // commits several peers' batches in one transaction.
  if (st.config.writer && self->mailbox().empty())
    if (auto ack = commit_versioned_here(*st.config.writer, b, st.config.shipper)) return *ack;
  return self->delegate(st.config.storage, replicate_atom_v, std::move(b));
}

/// A peer's quorum reads of one client batch's keys, answered here as the replication
/// actor reads its own replica (a cached value is a table probe, an uncached one one
/// SQLite blob read): no hop to anti-entropy's thread and back (measured: a quorum GET
/// cost more CPU than a PUT, on every replica).
caf::result<read_reply> on_read(self_ptr self, std::uint32_t count, const std::string& keys) {
  auto& st = self->state;
  if (!st.trusts(self->current_sender())) return caf::make_error(errc::unauthorized);
  if (!st.config.engine) return caf::make_error(caf::sec::invalid_argument);
  auto records = records_of(*st.config.engine, count, keys);
  if (!records) return caf::make_error(records.error().code());
  return std::move(*records);
}

caf::result<std::string> on_digest(self_ptr self) {
  auto& st = self->state;
  if (!st.trusts(self->current_sender())) return caf::make_error(errc::unauthorized);
  if (!st.config.engine) return caf::make_error(caf::sec::invalid_argument);
  std::vector<std::uint64_t> digests;
  st.config.engine->partition_digests(digests);
  std::string out;
  pack_digests(digests, out);
  return out;
}

/// A trusted sender's request, handed to `to` (anti-entropy, the relay), which answers it;
/// `unauthorized` from anyone else, `invalid_argument` when this node has no `to`.
template <class Reply, class Handle, class... Ts>
caf::result<Reply> delegate_trusted(self_ptr self, const Handle& to, Ts&&... xs) {
  if (!self->state.trusts(self->current_sender())) return caf::make_error(errc::unauthorized);
  if (!to) return caf::make_error(caf::sec::invalid_argument);
  return self->delegate(to, std::forward<Ts>(xs)...);
}

void on_hello(self_ptr self, const std::string& node_id, const caf::strong_actor_ptr& ep) {
  auto& st = self->state;
  if (st.trusts(self->current_sender()) && st.config.on_hello) st.config.on_hello(node_id, ep);
}

void on_shipped(self_ptr self, std::string& region, std::string& key_versions) {
  auto& st = self->state;
  if (st.trusts(self->current_sender()) && st.config.shipper)
    self->send(st.config.shipper, shipped_atom_v, std::move(region), std::move(key_versions));
}

} // namespace

peer_endpoint_actor::behavior_type peer_endpoint_impl(self_ptr self, endpoint_config config) {
  self->state.config = std::move(config);
  // Anything else a stranger sends is dropped silently (no log line per message); a
  // request gets an error back. The endpoint never quits on it.
  self->set_default_handler(caf::drop);
  return {
      [self](challenge_atom,
             const std::string& nonce_a) -> caf::result<std::string, std::string, std::string> {
        return on_challenge(self, nonce_a);
      },
      [self](peer_auth_atom, const std::string& node_a, const std::string& nonce_b,
             const std::string& proof_a) -> caf::result<bool> {
        return on_proof(self, node_a, nonce_b, proof_a);
      },
      [self](ping_atom, const std::string&) -> caf::result<std::string, std::string> {
        return on_ping(self);
      },
      [self](replicate_atom, versioned_writes& b) -> caf::result<replica_ack> {
        return on_replicate(self, b);
      },
      [self](digest_atom) -> caf::result<std::string> { return on_digest(self); },
      [self](pull_atom, std::uint32_t p, std::string& have) -> caf::result<pull_reply> {
        return delegate_trusted<pull_reply>(self, self->state.config.anti_entropy, pull_atom_v, p,
                                            std::move(have));
      },
      [self](pull_atom, std::string& partitions, std::string& have) -> caf::result<pull_reply> {
        return delegate_trusted<pull_reply>(self, self->state.config.anti_entropy, pull_atom_v,
                                            std::move(partitions), std::move(have));
      },
      [self](hello_atom, const std::string& node_id, const caf::strong_actor_ptr& ep) {
        on_hello(self, node_id, ep);
      },
      [self](read_atom, std::uint32_t count, const std::string& keys) -> caf::result<read_reply> {
        return on_read(self, count, keys);
      },
      [self](keys_atom, std::string& partitions) -> caf::result<std::string> {
        return delegate_trusted<std::string>(self, self->state.config.anti_entropy, keys_atom_v,
                                             std::move(partitions));
      },
      [self](ship_atom, ship_batch& b) -> caf::result<replica_ack> {
        return delegate_trusted<replica_ack>(self, self->state.config.relay, ship_atom_v,
                                             std::move(b));
      },
      [self](shipped_atom, std::string& region, std::string& key_versions) {
        on_shipped(self, region, key_versions);
      },
  };
}

} // namespace minivault
