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
/// The batches one round sends: (replica, its share).
using sends_t = std::vector<std::pair<member_id, std::shared_ptr<const versioned_writes>>>;

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
/// Asks the replicas of read `j` of batch `id` for their records.
void start_read(self_ptr self, std::uint64_t id, std::size_t j);

} // namespace minivault::replication_detail
