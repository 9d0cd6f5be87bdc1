#include "actors/node/caf_config.hpp"

#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include <chrono>
#include <thread>

#include "protocol/actors.hpp"

namespace minivault {

void set_peer_transport(caf::actor_system_config& cfg) {
  // Off by default in CAF 0.17, and then a frozen peer is never detected; the same
  // values on every node (they are constants here), or nodes flap.
  cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::milliseconds(500)});
  cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::seconds(3)});
  // No BASP worker: see the contract in caf_config.hpp.
  cfg.set("middleman.workers", std::uint64_t{0});
}

std::unique_ptr<caf::actor_system_config> make_caf_config(bool clustered, const node_options& o) {
  auto cfg = std::make_unique<caf::actor_system_config>();
  add_minivault_types(*cfg);
  if (clustered) {
    cfg->load<caf::io::middleman>();
    if (!o.tls_cert.empty()) { // peers speak TLS on the cluster port
      cfg->load<caf::openssl::manager>();
      cfg->openssl_certificate = o.tls_cert;
      cfg->openssl_key = o.tls_key;
      cfg->openssl_cafile = o.tls_ca; // set: peers must present a certificate it signed
    }
    set_peer_transport(*cfg);
  }
  // CAF defaults to max(cores, 4) scheduler threads; the I/O threads and the detached
  // actors have their own threads, so the scheduler gets the cores and no more. On two
  // cores or fewer, one: its actors (replication, the peer endpoint, membership) then
  // take turns on one thread instead of waking a second one for each message. Measured
  // with 3 nodes on 2 cores, interleaved: CPU per acknowledged write 32.2-34.7 -> 29.7-
  // 32.5 us at 50 x 1 in flight, 6.0-6.2 -> 5.3-5.8 us at 50 x 16, more writes/s in both.
  auto hw = std::thread::hardware_concurrency();
  cfg->set("scheduler.max-threads", static_cast<std::uint64_t>(hw <= 2 ? 1 : hw));
  // Work sharing: idle workers block on a condition variable. The default work stealing
  // polls with short sleeps, which on 2 cores shared by three cluster nodes cost more
  // CPU than the actors' work (measured: a third of a replica's CPU in nanosleep).
  cfg->set("scheduler.policy", caf::atom("sharing"));
  cfg->set("logger.verbosity", caf::atom("quiet"));
  cfg->set("logger.console", caf::atom("none"));
  return cfg;
}

} // namespace minivault
