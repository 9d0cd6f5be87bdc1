#pragma once
// Stopping an actor in order: ask it (stop_atom, which every minivault actor answers with
// true once it is done), wait at most 10 s, and log instead of throwing when it fails.
#include <chrono>
#include <string>

#include <caf/all.hpp>

#include "actors/telemetry/log.hpp"
#include "protocol/actors.hpp"

namespace minivault {

/// Stops `handle` (nothing when it was never started) and waits for its answer.
template <class Handle>
void stop_actor(caf::scoped_actor& self, const Handle& handle, const char* what) {
  if (!handle) return;
  self->request(handle, std::chrono::seconds(10), stop_atom_v)
      .receive([](bool) {},
               [&](const caf::error& e) {
                 log(log_level::warning,
                     std::string("stopping ") + what + ": " + self->system().render(e));
               });
}

} // namespace minivault
