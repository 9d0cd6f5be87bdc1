// Message flow:
//   tick_atom --> peer_tracker.due_attempts --> prober (probe_atom) --> middleman
//                 (connect_atom) --> monitor + connected
//             --> due_heartbeats --> peer (ping_atom) --> heard
//             --> expire_silent --> drop handle; snapshot --> peer_board
//   (hello_atom, node_id, endpoint) from this node's endpoint --> on_connected
//   down_msg of a peer's handle --> lost
#include "actors/cluster/membership/membership_actor.hpp"

#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include <set>

#include "actors/cluster/membership/peer_auth.hpp"
#include "actors/cluster/membership/peer_probe.hpp"
#include "actors/telemetry/log.hpp"
#include "protocol/security.hpp"

namespace minivault {

std::int64_t membership_state::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               started)
      .count();
}

prober_actor::behavior_type prober_actor_impl(prober_actor::pointer,
                                              std::chrono::milliseconds timeout) {
  return {
      [timeout](probe_atom, const std::string& host, std::uint16_t port) {
        probe_result r;
        auto id = probe_peer(peer_address{host, port}, timeout);
        if (!id) {
          r.error = id.error().reason();
          return r;
        }
        r.ok = true;
        r.node_id = std::move(id->node_id);
        r.region = std::move(id->region);
        r.cluster_port = id->cluster_port;
        return r;
      },
  };
}

namespace {

using self_ptr = membership_actor::stateful_pointer<membership_state>;

void notify(self_ptr self, std::size_t i, const caf::strong_actor_ptr& endpoint) {
  const auto& f = self->state.config.on_peer_change;
  if (f) f(peer_id{static_cast<std::uint32_t>(i)}, endpoint);
}

void drop_handle(self_ptr self, std::size_t i) {
  auto& h = self->state.handles[i];
  if (h) self->demonitor(h.address());
  h = nullptr;
  self->state.missed_hellos[i] = 0; // next time, wait for the peer's dial again
  notify(self, i, nullptr);
}

std::string member_name(const peer_address& a) {
  return a.host + ":" + std::to_string(a.port);
}

/// Does this node dial peer `i` (else it waits for the peer's hello)? See dials_peer.
bool dials(const membership_state& st, std::size_t i) {
  return dials_peer(st.config.self_name, member_name(st.config.peers[i]), st.missed_hellos[i]);
}

void say_hello(self_ptr self, std::size_t i) {
  auto& st = self->state;
  if (dials(st, i) && st.handles[i] && st.config.own_endpoint)
    self->send(st.handles[i], hello_atom_v, st.config.node_id, st.config.own_endpoint);
}

void mark_up(self_ptr self, std::size_t i, const probe_result& id,
             const peer_endpoint_actor& handle) {
  auto& st = self->state;
  st.handles[i] = handle;
  st.await_until_ms[i] = 0;
  self->monitor(handle);
  st.tracker->connected(i, id.node_id, id.region, st.now_ms());
  notify(self, i, caf::actor_cast<caf::strong_actor_ptr>(handle));
  say_hello(self, i);
  log(log_level::info, "peer " + st.config.peers[i].host + ":" +
                           std::to_string(st.config.peers[i].port) + " (" + id.node_id + ") is up");
}

void refused(self_ptr self, std::size_t i, const std::string& why) {
  auto& st = self->state;
  log(log_level::warning, "peer " + st.config.peers[i].host + ":" +
                              std::to_string(st.config.peers[i].port) + " not trusted: " + why);
  st.tracker->attempt_failed(i, st.now_ms());
}

/// With -auth, both sides prove the secret (peer_auth.hpp) before the peer counts as up.
void on_connected(self_ptr self, std::size_t i, const probe_result& id,
                  const caf::strong_actor_ptr& ptr) {
  auto& st = self->state;
  auto handle = caf::actor_cast<peer_endpoint_actor>(ptr);
  if (!handle) {
    st.tracker->attempt_failed(i, st.now_ms());
    return;
  }
  if (st.config.secret.empty()) {
    mark_up(self, i, id, handle);
    return;
  }
  const std::string nonce_a = make_nonce();
  const auto timeout = st.config.connect_timeout;
  self->request(handle, timeout, challenge_atom_v, nonce_a)
      .then(
          [self, i, id, handle, nonce_a, timeout](
              const std::string& nonce_b, const std::string& node_b, const std::string& proof_b) {
            auto& st = self->state;
            if (node_b != id.node_id ||
                !constant_time_equal(proof_b,
                                     peer_proof(st.config.secret, "server", nonce_a, node_b))) {
              refused(self, i, "it could not prove the cluster secret");
              return;
            }
            std::string proof_a =
                peer_proof(st.config.secret, "client", nonce_b, st.config.node_id);
            self->request(handle, timeout, peer_auth_atom_v, st.config.node_id, nonce_b, proof_a)
                .then(
                    [self, i, id, handle](bool accepted) {
                      if (accepted)
                        mark_up(self, i, id, handle);
                      else
                        refused(self, i, "it refused our proof of the cluster secret");
                    },
                    [self, i](const caf::error&) { refused(self, i, "no answer to our proof"); });
          },
          [self, i](const caf::error&) { refused(self, i, "no answer to our challenge"); });
}

void attempt(self_ptr self, std::size_t i) {
  auto& st = self->state;
  const peer_address& a = st.config.peers[i];
  self->request(st.probers[i], st.config.probe_timeout * 2, probe_atom_v, a.host, a.port)
      .then(
          [self, i](const probe_result& id) {
            auto& st = self->state;
            if (!id.ok) {
              st.tracker->attempt_failed(i, st.now_ms());
              return;
            }
            if (id.node_id == st.config.node_id) {
              st.tracker->is_self(i); // CLUSTER_NODES listed this node itself
              return;
            }
            if (!dials(st, i)) { // the peer dials this node and says hello
              st.probed[i] = id;
              st.await_until_ms[i] = st.now_ms() + st.config.connect_timeout.count();
              return;
            }
            auto mm = st.config.tls ? self->system().openssl_manager().actor_handle()
                                    : self->system().middleman().actor_handle();
            self->request(mm, st.config.connect_timeout, caf::connect_atom_v,
                          st.config.peers[i].host, id.cluster_port)
                .then(
                    [self, i, id](const caf::node_id&, caf::strong_actor_ptr& ptr,
                                  const std::set<std::string>&) { on_connected(self, i, id, ptr); },
                    [self, i](const caf::error&) {
                      self->state.tracker->attempt_failed(i, self->state.now_ms());
                    });
          },
          [self, i](const caf::error&) {
            self->state.tracker->attempt_failed(i, self->state.now_ms());
          });
}

void heartbeat(self_ptr self, std::size_t i) {
  auto& st = self->state;
  auto handle = st.handles[i];
  if (!handle) return;
  say_hello(self, i); // repeated: the peer may have missed it (e.g. its probe was late)
  auto timeout = std::chrono::milliseconds(st.config.timing.down_after_ms);
  self->request(handle, timeout, ping_atom_v, st.config.node_id)
      .then([self, i](const std::string&,
                      const std::string&) { self->state.tracker->heard(i, self->state.now_ms()); },
            [](const caf::error&) {}); // silence is judged by expire_silent
}

void tick(self_ptr self) {
  auto& st = self->state;
  const std::int64_t now = st.now_ms();
  for (std::size_t i : st.tracker->expire_silent(now)) {
    log(log_level::warning, "peer " + st.config.peers[i].host + ":" +
                                std::to_string(st.config.peers[i].port) + " is down (silent for " +
                                std::to_string(st.config.timing.down_after_ms) + " ms)");
    drop_handle(self, i);
  }
  for (std::size_t i = 0; i < st.await_until_ms.size(); ++i) {
    if (st.await_until_ms[i] != 0 && now >= st.await_until_ms[i]) { // no hello came
      st.await_until_ms[i] = 0;
      if (st.missed_hellos[i] < hello_waits_max && ++st.missed_hellos[i] == hello_waits_max)
        log(log_level::info, "peer " + member_name(st.config.peers[i]) +
                                 " does not dial this node: dialing it instead");
      st.tracker->attempt_failed(i, now);
    }
  }
  for (std::size_t i : st.tracker->due_attempts(now))
    attempt(self, i);
  for (std::size_t i : st.tracker->due_heartbeats(now))
    heartbeat(self, i);
  if (st.config.board) st.config.board->publish(st.tracker->snapshot(now), st.tracker->all_up());
}

} // namespace

membership_actor::behavior_type membership_actor_impl(self_ptr self, membership_config config) {
  auto& st = self->state;
  st.started = std::chrono::steady_clock::now();
  // The jitter differs per node (seeded by its name), so peers that lost each other at
  // the same instant retry at different times.
  std::uint64_t seed = 0;
  for (char c : config.self_name)
    seed = seed * 131 + static_cast<unsigned char>(c);
  st.tracker = std::make_unique<peer_tracker>(config.peers, config.timing, seed);
  for (std::size_t i = 0; i < config.peers.size(); ++i)
    st.probers.push_back(
        self->spawn<caf::detached + caf::linked>(prober_actor_impl, config.probe_timeout));
  st.handles.resize(config.peers.size());
  st.probed.resize(config.peers.size());
  st.await_until_ms.assign(config.peers.size(), 0);
  st.missed_hellos.assign(config.peers.size(), 0);
  st.config = std::move(config);
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    for (std::size_t i = 0; i < st.handles.size(); ++i) {
      if (st.handles[i] && st.handles[i].address() == msg.source) {
        st.handles[i] = nullptr;
        st.missed_hellos[i] = 0;
        st.tracker->lost(i, st.now_ms());
        notify(self, i, nullptr);
        log(log_level::warning, "peer " + st.config.peers[i].host + ":" +
                                    std::to_string(st.config.peers[i].port) +
                                    " is down (connection lost)");
      }
    }
  });
  const auto period = std::chrono::milliseconds(membership_tick_ms);
  self->send(self, tick_atom_v);
  return {
      [self, period](tick_atom) {
        tick(self);
        self->delayed_send(self, period, tick_atom_v);
      },
      [self](hello_atom, const std::string& node_id, const caf::strong_actor_ptr& ep) {
        // A peer that dialed this node: accepted for the entry whose probe found that
        // node id, and authenticated like any connection this node made.
        auto& st = self->state;
        for (std::size_t i = 0; i < st.probed.size(); ++i) {
          if (st.await_until_ms[i] == 0 || st.probed[i].node_id != node_id || !ep) continue;
          st.await_until_ms[i] = 0;
          st.missed_hellos[i] = 0;
          on_connected(self, i, st.probed[i], ep);
          return;
        }
      },
      [self](stop_atom) {
        for (auto& p : self->state.probers)
          self->send_exit(p, caf::exit_reason::user_shutdown);
        self->quit();
        return true;
      },
  };
}

} // namespace minivault
