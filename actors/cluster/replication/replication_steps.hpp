#pragma once
// The replication actor's steps, shared by its write path (write_path.cpp), its read path
// (read_path.cpp) and its behavior (replication_actor.cpp). Internal to this folder.
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "actors/cluster/replication/replication_actor.hpp"

namespace minivault::replication_detail {

using self_ptr = replication_actor::stateful_pointer<replication_state>;
using pending = replication_state::pending;
using in_flight_iter = std::unordered_map<std::uint64_t, pending>::iterator;
/// One request of a round: a replica's share of the batch, or (`relay`) the writes for
/// another region, to the member of it that relays them to that region's replicas
/// (relay_path.cpp), which answers once `wait` of them hold them.
struct send {
  member_id to;
  std::shared_ptr<const versioned_writes> writes;
  bool relay = false;
  relay_wait wait = relay_wait::quorum;
};
using sends_t = std::vector<send>;

/// Could member `m` take a batch of `bytes` now? This node always can; a peer while it is
/// up and under its bounds.
[[nodiscard]] bool available(const replication_state& st, member_id m, std::size_t bytes);
/// Posts the batch's outcome (once; later calls are ignored); `detail`, when not empty,
/// is the client's error text.
void decide(replication_state& st, pending& p, errc result, std::string detail = {});
/// The client's text for `result` (no_quorum or timeout) when `reachable` replicas per
/// region cannot meet `need`: it names the region that falls short, e.g.
/// "no quorum: region west has 0 of 3 replicas up, 2 needed".
[[nodiscard]] std::string shortfall(const replication_state& st, errc result,
                                    const quorum_need& need, const region_counts& reachable);
/// True when the batch must go round again (see maybe_done in write_path.cpp).
[[nodiscard]] bool maybe_done(replication_state& st, pending& p);
/// One replica answer less (the batch is forgotten after the last), then the second round
/// when `again`.
void release_then(self_ptr self, in_flight_iter it, bool again);
/// One round of a client batch: versions and sends its writes, starts its reads.
void start_round(self_ptr self, std::shared_ptr<const client_batch> original, std::uint32_t round);
/// `n` replicas of member `m`'s region answered batch `id`'s writes sent to `m` (1 unless
/// `m` relayed them): `ok`, or failed (`timed_out`: no answer in time). `newer_hlc` != 0:
/// they applied them but kept a newer version of some key instead: they count for the
/// quorum, and the highest such hlc is kept for maybe_done. `unknown` more replicas of
/// that region will not be heard of (a relay answered for fewer than all): they count
/// as timed out.
void settle(self_ptr self, std::uint64_t id, member_id m, bool ok, bool timed_out,
            std::uint64_t newer_hlc = 0, std::size_t n = 1, std::size_t unknown = 0);
/// Hands writes member `m` missed to the handoff actor (dropped past its mailbox bound).
void hint(replication_state& st, member_id m, const versioned_writes& b);
/// Sends a round's request (write_path.cpp: a replica's share; relay_path.cpp: a relay's).
void dispatch(self_ptr self, std::uint64_t id, const send& s);
void dispatch_relay(self_ptr self, std::uint64_t id, const send& s);
/// Link bookkeeping of one request of `bytes` to member `m`: opened (counted in the
/// link's window and, to another region, in the WAN bytes; the value is the link epoch
/// to pass on), answered (everything sent before it has drained), or failed
/// (`timed_out`: it may still sit in BASP's buffer, so its bytes stay counted until the
/// next answer).
[[nodiscard]] std::uint64_t link_opened(replication_state& st, member_id m, std::size_t bytes);
void link_answered(replication_state& st, member_id m, std::uint64_t epoch, std::size_t bytes);
void link_failed(replication_state& st, member_id m, std::uint64_t epoch, std::size_t bytes,
                 bool timed_out);
/// Routes st.ops (versioned, `packed_bytes` as they came) to their replicas into `sends`,
/// with a tally per op in `p`; `relay`: writes another region shipped (this region's
/// replicas only). no_quorum (with the client's text) when some op cannot reach its
/// quorum now: then nothing is to be sent.
[[nodiscard]] status route(replication_state& st, std::size_t packed_bytes, pending& p, bool relay,
                           sends_t& sends);
/// Sends a routed round and tracks it in in_flight until every replica answered.
void launch(self_ptr self, pending&& p, sends_t& sends);
/// Writes another region shipped, this node their relay: routed to this region's
/// replicas; `p.relay` gets the outcome.
void start_relay(self_ptr self, const ship_batch& b, caf::typed_response_promise<replica_ack> done);
/// Sends `xs` to `dest` as a request whose timeout (config.timeout) the actor keeps itself
/// (request_deadlines.hpp). Both handlers of the returned handle must first call
/// `answered(self, h.id())`.
void watch(self_ptr self, caf::message_id response_id);
template <class Dest, class... Ts> auto timed_request(self_ptr self, const Dest& dest, Ts&&... xs) {
  auto h = self->request(dest, caf::infinite, std::forward<Ts>(xs)...);
  watch(self, h.id());
  return h;
}
inline void answered(self_ptr self, caf::message_id response_id) {
  self->state.deadlines.answered(response_id);
}
/// tick_atom: delivers request_timeout to every request open past its deadline.
void on_tick(self_ptr self);
/// Asks the replicas of every read of batch `id` for their records (each peer once).
void start_reads(self_ptr self, std::uint64_t id);

} // namespace minivault::replication_detail
