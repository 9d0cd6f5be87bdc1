#pragma once
// The CAF configuration a node runs with: its message types, the peer transport (BASP
// over the middleman, or TLS) and the scheduler. `node` builds its actor system from
// `make_caf_config`; tests that build actor systems of their own apply
// `set_peer_transport` so that they speak to nodes the way nodes speak to each other.
#include <caf/actor_system_config.hpp>

#include <memory>

#include "protocol/options.hpp"

namespace minivault {

/// The BASP settings every node of a cluster shares (constants: nodes with different
/// heartbeat settings would drop each other's connections). Call before the middleman
/// starts, i.e. before the actor system is built.
///
/// Contract: a peer message is decoded on the middleman's I/O thread (no BASP worker).
/// CAF 0.17 names a connection by its socket's descriptor and, when one closes, clears
/// its route only after every message that arrived before the close was delivered. With
/// a worker, that clean-up waited for the scheduler; the descriptor was meanwhile reused
/// by a peer's new connection, and the late clean-up erased the new connection's route:
/// the peer's messages still arrived, but nothing went back to it (its heartbeats went
/// unanswered until it gave up after 3 s). Decoded on the I/O thread, nothing is left
/// to deliver when a connection closes, and the clean-up is the middleman's next message
/// instead of waiting for the scheduler (tests/actors/node/peer_transport_test.cpp).
void set_peer_transport(caf::actor_system_config& cfg);

/// The node's whole CAF configuration: types; the middleman, TLS and
/// `set_peer_transport` when `clustered`; the scheduler sized to the machine.
[[nodiscard]] std::unique_ptr<caf::actor_system_config> make_caf_config(bool clustered,
                                                                        const node_options& o);

} // namespace minivault
