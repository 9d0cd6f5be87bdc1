#pragma once
// caf_test_system: an actor system on CAF's deterministic test coordinator, with
// minivault's message types, for actor unit tests. No threads: messages and timeouts
// are delivered only when the test calls sched->run() / sched->trigger_timeout().
//
// Contract: construct, check `sched != nullptr`, spawn; destroy after every actor handle
// the test holds has been released (the destructor tears the system down).
#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <memory>

#include "protocol/actors.hpp"

namespace minivault::test {

struct caf_test_system {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;

  caf_test_system() {
    add_minivault_types(cfg);
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = dynamic_cast<caf::scheduler::test_coordinator*>(&sys->scheduler());
  }

  /// Sends `actor` an exit and delivers it.
  template <class Handle> void stop(Handle& actor) {
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    sched->run();
    actor = nullptr;
  }
};

} // namespace minivault::test
