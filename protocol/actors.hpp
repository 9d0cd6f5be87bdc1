#pragma once
// Every typed actor interface of minivault and the messages they exchange, in one place
// (the node's message vocabulary). Types are registered through the `minivault` type-ID
// block: call `add_minivault_types(cfg)` on every actor_system_config.
#include <cstdint>
#include <string>

#include <caf/all.hpp>

#include "protocol/errc.hpp"
#include "protocol/ids.hpp"

namespace minivault {

// The batch messages below carry `count` ops packed in `ops`, per op
// `[flags:u8][key_len:u16][value_len:u32]([hlc:u64][node:u32])[key][value]`: flags bit0
// delete, bit1 versioned (the version follows the header), bit2 read, bit3 quorum read,
// bits 4-6 the consistency level of an unversioned write or a quorum read (0 elsewhere).
// actors/durability/batch_codec.hpp packs and decodes them. One type per meaning:

/// Client requests from one I/O thread, handed over in one message: unversioned writes
/// (pack_write) for the storage actor (one node) or the replication actor (a cluster),
/// and, for the replication actor only, reads (pack_read). The outcome for (`origin`,
/// `ticket`) is posted on the completion board once the writes are durable (or failed)
/// and the reads answered.
struct client_batch {
  std::uint32_t origin = 0; // index of the I/O thread that built it
  std::uint64_t ticket = 0; // per-origin sequence number, strictly increasing
  std::uint32_t count = 0;  // number of ops packed in `ops`
  std::string ops;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, client_batch& x) {
  return f(caf::meta::type_name("client_batch"), x.origin, x.ticket, x.count, x.ops);
}

/// Writes that already carry their version (pack_versioned_write), to apply last writer
/// wins: a replica's share of a client batch, a read repair, a pulled batch, and the
/// hints a peer missed (a hint is exactly such a batch, delivered the same way later).
/// `ship`: the writes were taken by a node of this region at a local consistency level
/// (one, local_quorum), so they reach the other regions only by shipping: the replica
/// that commits them keeps them in its outbox (actors/cluster/geo/) until they have.
struct versioned_writes {
  std::uint32_t count = 0;
  std::string ops;
  bool ship = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, versioned_writes& x) {
  return f(caf::meta::type_name("versioned_writes"), x.count, x.ops, x.ship);
}

/// How many of its region's replicas hold a ship_batch before its relay answers ok:
/// `one` (a shipper's: the others get it as well, or as hints if down, so a region with
/// replicas down still takes shipments), a write `quorum` or `all` of them (a
/// coordinator's, for a level that waits for that region).
enum class relay_wait : std::uint8_t { one, quorum, all };

/// Writes for another region, to a node there that relays them to its region's replicas
/// (actors/cluster/geo/ship_codec.hpp): `count` versioned writes packed as in
/// versioned_writes, then compressed as one zstd frame.
struct ship_batch {
  std::uint32_t count = 0;
  std::string packed;
  relay_wait wait = relay_wait::one;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, ship_batch& x) {
  return f(caf::meta::type_name("ship_batch"), x.count, x.packed, x.wait);
}

/// The answer to (pull_atom, partition, have): the records of that partition the asker
/// lacks or holds older, as versioned writes, bounded in bytes.
struct pull_reply {
  std::uint32_t count = 0;
  std::string ops;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, pull_reply& x) {
  return f(caf::meta::type_name("pull_reply"), x.count, x.ops);
}

/// A replica's records of keys asked with (read_atom, count, keys), in the order asked:
/// per key one versioned write (a value or a tombstone), or the read again (none).
struct read_reply {
  std::uint32_t count = 0;
  std::string ops;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, read_reply& x) {
  return f(caf::meta::type_name("read_reply"), x.count, x.ops);
}

/// A replica's answer to (replicate_atom, batch), once the batch is durable there or
/// failed. `outcome`: ok, or why the replica could not apply it (io_error, bad_request,
/// too_large, ...). `newer_hlc` (only with ok): 0 when every op took effect (or was
/// already there), else the highest hlc among the versions this replica kept instead of
/// an op of the batch (it held, or got in the same commit, a newer version of that key).
/// A relay's answer to a ship_batch says the same of its region's replicas: `newer_hlc`
/// the highest any of them reported, `acks` how many of them hold every write of the
/// batch, `durable_ms` the wall time (ms) that was reached (the shipper's lag).
struct replica_ack {
  errc outcome = errc::ok;
  std::uint64_t newer_hlc = 0;
  std::uint64_t durable_ms = 0;
  std::uint8_t acks = 0;
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, replica_ack& x) {
  return f(caf::meta::type_name("replica_ack"), x.outcome, x.newer_hlc, x.durable_ms, x.acks);
}

/// Counters of the connections actor (for health and metrics).
struct connection_stats {
  std::uint64_t open = 0;
  std::uint64_t accepted = 0;
  std::uint64_t requests = 0;
  std::uint64_t protocol_errors = 0;
  std::uint64_t refused = 0; // connections closed at accept (limit or out of fds)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, connection_stats& x) {
  return f(caf::meta::type_name("connection_stats"), x.open, x.accepted, x.requests,
           x.protocol_errors, x.refused);
}

/// What a probe of a peer's client port found (see actors/cluster/membership/peer_probe.hpp).
struct probe_result {
  bool ok = false;
  std::string node_id;
  std::string region;
  std::uint16_t cluster_port = 0;
  std::string error; // !ok: why
};

template <class Inspector> typename Inspector::result_type inspect(Inspector& f, probe_result& x) {
  return f(caf::meta::type_name("probe_result"), x.ok, x.node_id, x.region, x.cluster_port,
           x.error);
}

} // namespace minivault

// errc is a CAF error code enum: `caf::make_error(errc::unauthorized)` (or a `caf::error`
// from an errc) travels in error replies; add_minivault_types registers its rendering.
CAF_ERROR_CODE_ENUM(minivault::errc, "minivault")

CAF_BEGIN_TYPE_ID_BLOCK(minivault, caf::first_custom_type_id)
CAF_ADD_TYPE_ID(minivault, (minivault::client_batch))
CAF_ADD_TYPE_ID(minivault, (minivault::versioned_writes))
CAF_ADD_TYPE_ID(minivault, (minivault::pull_reply))
CAF_ADD_TYPE_ID(minivault, (minivault::read_reply))
CAF_ADD_TYPE_ID(minivault, (minivault::ship_batch))
CAF_ADD_TYPE_ID(minivault, (minivault::replica_ack))
CAF_ADD_TYPE_ID(minivault, (minivault::connection_stats))
CAF_ADD_TYPE_ID(minivault, (minivault::probe_result))
CAF_ADD_TYPE_ID(minivault, (minivault::peer_id))
CAF_ADD_ATOM(minivault, minivault, flush_atom, "flush")
CAF_ADD_ATOM(minivault, minivault, tick_atom, "tick")
CAF_ADD_ATOM(minivault, minivault, compact_atom, "compact")
CAF_ADD_ATOM(minivault, minivault, stop_atom, "stop")
CAF_ADD_ATOM(minivault, minivault, stats_atom, "stats")
CAF_ADD_ATOM(minivault, minivault, ping_atom, "ping")
CAF_ADD_ATOM(minivault, minivault, probe_atom, "probe")
CAF_ADD_ATOM(minivault, minivault, challenge_atom, "challenge")
CAF_ADD_ATOM(minivault, minivault, peer_auth_atom, "peerauth")
CAF_ADD_ATOM(minivault, minivault, replicate_atom, "replicate")
CAF_ADD_ATOM(minivault, minivault, peer_up_atom, "peerup")
CAF_ADD_ATOM(minivault, minivault, peer_down_atom, "peerdown")
CAF_ADD_ATOM(minivault, minivault, hint_atom, "hint")
CAF_ADD_ATOM(minivault, minivault, digest_atom, "digest")
CAF_ADD_ATOM(minivault, minivault, pull_atom, "pull")
CAF_ADD_ATOM(minivault, minivault, read_atom, "read")
CAF_ADD_ATOM(minivault, minivault, hello_atom, "hello")
CAF_ADD_ATOM(minivault, minivault, ship_atom, "ship")
CAF_ADD_ATOM(minivault, minivault, outbox_atom, "outbox")
CAF_ADD_ATOM(minivault, minivault, shipped_atom, "shipped")
CAF_ADD_ATOM(minivault, minivault, keys_atom, "keys")
CAF_END_TYPE_ID_BLOCK(minivault)

namespace minivault {

/// Durability housekeeping off the writer's thread (spawned detached: fsync blocks).
/// - tick_atom: its own timer: fdatasync under policy `interval`, WAL checkpoints.
/// - stop_atom: replies true, quits.
using sync_actor =
    caf::typed_actor<caf::reacts_to<tick_atom>, caf::replies_to<stop_atom>::with<bool>>;

/// Owns the rate-limit policy (-ratelimit): refills the node's token pool on its own timer.
/// - tick_atom: its own timer.
/// - stop_atom: replies true, quits.
using rate_limiter_actor =
    caf::typed_actor<caf::reacts_to<tick_atom>, caf::replies_to<stop_atom>::with<bool>>;

/// Owns the client listeners and the I/O threads.
/// - stats_atom: current connection counters.
/// - stop_atom: stops accepting, lets in-flight writes finish (bounded), closes all
///   connections, joins the I/O threads, replies true, quits.
using connections_actor = caf::typed_actor<caf::replies_to<stats_atom>::with<connection_stats>,
                                           caf::replies_to<stop_atom>::with<bool>>;

/// What a node publishes on its cluster port (actors/cluster/endpoint/peer_endpoint.hpp):
/// only what a peer may ask, nothing that controls the node.
/// - (challenge_atom, nonce_a): replies (nonce_b, node_id, proof_b); see peer_auth.hpp.
/// - (peer_auth_atom, node_id_a, nonce_b, proof_a): true once the sender is trusted.
/// - (ping_atom, from_node_id): a peer's heartbeat; replies (node_id, region).
/// - (replicate_atom, versioned_writes): to apply (last writer wins); replies
///   a replica_ack once they are durable here (or failed), as the storage actor does.
/// - digest_atom: replies every partition's digest (storage/partition.hpp), packed as
///   little-endian u64s.
/// - (pull_atom, partition, have): `have` packs the asker's (key, version) pairs of that
///   partition (cluster_codec.hpp); replies a pull_reply: the records this node holds in a
///   newer version (or the asker lacks), bounded in bytes.
/// - (pull_atom, partitions, have): the same over several partitions (packed as for
///   keys_atom; `have` holds the asker's pairs of all of them), without the records
///   written in the last 5 s (shipping is delivering those); `bad_request` when the
///   list is malformed. Another region's anti-entropy asks: one round trip for many.
/// - (read_atom, count, keys): `count` keys packed as reads (pack_read, at most
///   read_keys_max): replies a read_reply of one op per key, in order: this node's
///   versioned record of it, or the read again when it has none. The reply may stop
///   after the first keys (count < asked, at least 1) once it holds
///   read_reply_bytes_soft_max bytes; the asker asks again for the rest. A quorum read
///   asks each replica once per client batch for all the batch's keys it holds.
/// - (keys_atom, partitions): `partitions` packs partition indexes (cluster_codec.hpp);
///   replies this node's (key, version) pairs of all of them, packed as in pull_atom;
///   `bad_request` when the list is malformed. Another region's anti-entropy asks, to
///   send what this node lacks (repair marks, cluster/geo/).
/// - (hello_atom, node_id, endpoint): with TLS only one side of a pair dials (see
///   membership_actor.hpp); the dialer introduces its own endpoint this way, over the
///   connection it made.
/// - (ship_atom, ship_batch): another region's writes, this node their relay (delegated
///   to the replication actor, which answers).
/// - (shipped_atom, region, key_versions): a replica of this region shipped these
///   (delegated to the shipper).
/// Everything but the challenge and the proof is refused with `errc::unauthorized` (a
/// caf::error) from a sender that has not authenticated, when -auth is set.
using peer_endpoint_actor = caf::typed_actor<
    caf::replies_to<challenge_atom, std::string>::with<std::string, std::string, std::string>,
    caf::replies_to<peer_auth_atom, std::string, std::string, std::string>::with<bool>,
    caf::replies_to<ping_atom, std::string>::with<std::string, std::string>,
    caf::replies_to<replicate_atom, versioned_writes>::with<replica_ack>,
    caf::replies_to<digest_atom>::with<std::string>,
    caf::replies_to<pull_atom, std::uint32_t, std::string>::with<pull_reply>,
    caf::replies_to<pull_atom, std::string, std::string>::with<pull_reply>,
    caf::replies_to<read_atom, std::uint32_t, std::string>::with<read_reply>,
    caf::replies_to<keys_atom, std::string>::with<std::string>,
    caf::reacts_to<hello_atom, std::string, caf::strong_actor_ptr>,
    caf::replies_to<ship_atom, ship_batch>::with<replica_ack>,
    caf::reacts_to<shipped_atom, std::string, std::string>>;

/// Told when a peer comes up or goes down. Declared once; replication, handoff and
/// anti-entropy extend it. Sender: only the membership actor, through the node's
/// `on_peer_change` callback (actors/cluster/cluster.cpp), which sends each message to all
/// three listeners, in the order membership saw the changes.
/// - (peer_up_atom, peer, endpoint): `peer` names the CLUSTER_NODES entry (protocol/ids.hpp);
///   `endpoint` is that peer's peer_endpoint_actor (actor_cast it),
///   authenticated when -auth is set.
/// - (peer_down_atom, peer): the peer is silent or its connection is gone.
/// A listener replaces its handle for `peer` on each up (a peer may come up again with a
/// new endpoint), drops it on down (sending nothing more to it until the next up), ignores
/// an index it does not know, and never replies.
using peer_listener_actor =
    caf::typed_actor<caf::reacts_to<peer_up_atom, peer_id, caf::strong_actor_ptr>,
                     caf::reacts_to<peer_down_atom, peer_id>>;

/// Shipping to the other regions (actors/cluster/geo/shipper_actor.hpp).
/// - (outbox_atom, versioned_writes): writes this replica committed that the other regions
///   get by shipping (from the storage actor): kept in the outbox until shipped.
/// - (shipped_atom, region, key_versions): another replica of this region shipped these
///   (key, version)s to `region` (cluster_codec.hpp packing): they leave the outbox.
/// - peer_up / peer_down (peer_listener_actor): who leads which partition, which relay.
/// - tick_atom: its own timer (retries, followers' aged entries, gauges).
/// - stop_atom: replies true, quits.
using shipper_actor =
    peer_listener_actor::extend<caf::reacts_to<outbox_atom, versioned_writes>,
                                caf::reacts_to<shipped_atom, std::string, std::string>,
                                caf::reacts_to<tick_atom>, caf::replies_to<stop_atom>::with<bool>>;

/// The single writer of the storage engine (spawned detached: SQLite blocks).
/// - client_batch (writes only): queued; all batches that arrived before the next flush
///   are committed in one transaction (group commit); outcome posted to the completion
///   board.
/// - flush_atom, tick_atom, compact_atom: its own timers (commit, compaction checks).
/// - stop_atom: commits what is queued, closes the engine, replies true, quits.
/// - (replicate_atom, versioned_writes): the same, for versioned writes (replication,
///   hints, repairs); replies a replica_ack once committed (or failed). Batches marked
///   `ship` go to the shipper after their commit, before the reply (one message per group).
/// - (outbox_atom, shipper): where those go from now on (a cluster of several regions).
using storage_actor =
    caf::typed_actor<caf::reacts_to<client_batch>,
                     caf::replies_to<replicate_atom, versioned_writes>::with<replica_ack>,
                     caf::reacts_to<outbox_atom, shipper_actor>, caf::reacts_to<flush_atom>,
                     caf::reacts_to<tick_atom>, caf::reacts_to<compact_atom>,
                     caf::replies_to<stop_atom>::with<bool>>;

/// Quorum replication (actors/cluster/replication/replication_actor.hpp), local only.
/// - client_batch: client writes and reads from an I/O thread; the writes versioned, sent
///   to every replica, and their outcome posted to the completion board once the write
///   quorum holds them (or it cannot: no_quorum, timeout); the reads asked of a read
///   quorum, their values posted with it.
/// - peer_up / peer_down (peer_listener_actor): each starts a new epoch of that member's
///   link (late answers of older epochs are ignored); an entry that is this node is ignored.
/// - stop_atom: replies true, quits (pending batches are answered shutting_down).
/// - tick_atom: its own timer (the requests it keeps the timeouts of).
/// - (ship_atom, ship_batch): writes for this region from another, this node their relay:
///   sent to this region's replicas; replies ok once as many of each write's replicas
///   here as `wait` says made it durable (else no_quorum, timeout, bad_request).
using replication_actor =
    peer_listener_actor::extend<caf::reacts_to<client_batch>, caf::reacts_to<tick_atom>,
                                caf::replies_to<ship_atom, ship_batch>::with<replica_ack>,
                                caf::replies_to<stop_atom>::with<bool>>;

/// Hinted handoff (actors/cluster/repair/handoff_actor.hpp).
/// - (hint_atom, peer, versioned_writes): writes `peer` missed; stored durably (bounded).
/// - peer_up / peer_down (peer_listener_actor): hints go to a peer while it is up.
/// - tick_atom: its own timer (delivery).
/// - stop_atom: replies true, quits.
using handoff_actor =
    peer_listener_actor::extend<caf::reacts_to<hint_atom, peer_id, versioned_writes>,
                                caf::reacts_to<tick_atom>, caf::replies_to<stop_atom>::with<bool>>;

/// Anti-entropy (actors/cluster/repair/anti_entropy_actor.hpp; detached: reads may touch SQLite).
/// - peer_up / peer_down (peer_listener_actor): rounds go to up peers only.
/// - tick_atom: its own timer: one comparison round with the next peer.
/// - (pull_atom, partition, have), (pull_atom, partitions, have): a peer's pull,
///   delegated by the endpoint.
/// - (keys_atom, partitions): a peer's request for this node's keys of those partitions,
///   delegated by the endpoint.
/// - stop_atom: replies true, quits.
using anti_entropy_actor = peer_listener_actor::extend<
    caf::reacts_to<tick_atom>,
    caf::replies_to<pull_atom, std::uint32_t, std::string>::with<pull_reply>,
    caf::replies_to<pull_atom, std::string, std::string>::with<pull_reply>,
    caf::replies_to<keys_atom, std::string>::with<std::string>,
    caf::replies_to<stop_atom>::with<bool>>;

/// Cluster membership (actors/cluster/membership/membership_actor.hpp), local only (never
/// published).
/// - tick_atom: its own timer (attempts, heartbeats, expiry, the health snapshot).
/// - (hello_atom, node_id, endpoint): a peer that dialed this node introduced its
///   endpoint (forwarded by this node's endpoint, from an authenticated sender).
/// - stop_atom: replies true, quits.
using membership_actor =
    caf::typed_actor<caf::reacts_to<tick_atom>,
                     caf::reacts_to<hello_atom, std::string, caf::strong_actor_ptr>,
                     caf::replies_to<stop_atom>::with<bool>>;

/// Probes one peer's client port (blocking: spawn detached).
/// - (probe_atom, host, port): replies what the peer's HEALTH says.
using prober_actor =
    caf::typed_actor<caf::replies_to<probe_atom, std::string, std::uint16_t>::with<probe_result>>;

inline void add_minivault_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::minivault>();
  // (Not add_error_category<errc>: that template does not compile in CAF 0.17.6.)
  cfg.add_error_category(caf::atom("minivault"),
                         [](std::uint8_t code, caf::atom_value, const caf::message& context) {
                           std::string out = "minivault: ";
                           out += to_string(static_cast<errc>(code));
                           if (!context.empty()) out += " (" + to_string(context) + ")";
                           return out;
                         });
}

} // namespace minivault
