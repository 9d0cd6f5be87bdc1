// Message flow:
//   tick_atom --> [interval] engine.sync() --> engine.checkpoint(passive | restart)
//             --> delayed tick_atom to self
//   stop_atom --> reply true, quit
#include "actors/durability/sync_actor.hpp"

#include <algorithm>
#include <string>

#include "actors/telemetry/log.hpp"

namespace minivault {

namespace {

void report(sync_state& st, const char* what, errc e) {
  auto now = std::chrono::steady_clock::now();
  if (now - st.last_failure_log < std::chrono::seconds(10)) return;
  st.last_failure_log = now;
  log(log_level::warning, std::string(what) + " failed: " + std::string(to_string(e)));
}

void housekeeping(sync_state& st) {
  auto now = std::chrono::steady_clock::now();
  if (st.fsync == fsync_policy::interval && now - st.last_sync >= st.fsync_interval) {
    auto commits = st.engine->commit_count();
    if (commits != st.last_sync_commits) {
      if (status synced = st.engine->sync(); synced) {
        st.last_sync_commits = commits;
        st.last_sync = now;
      } else {
        report(st, "periodic fsync", synced.code());
      }
    }
  }
  auto passive = st.engine->checkpoint(false);
  if (!passive) {
    report(st, "WAL checkpoint", passive.error().code());
    return;
  }
  const std::uint64_t wal_pages = *passive;
  // After a restart the WAL still reports its old frame count until the next write
  // starts it over: an idle node must not restart again every tick.
  if (wal_pages * st.engine->page_bytes() >= wal_restart_bytes &&
      wal_pages != st.last_restart_pages) {
    if (auto restarted = st.engine->checkpoint(true); !restarted)
      report(st, "WAL restart checkpoint", restarted.error().code());
    else
      st.last_restart_pages = *restarted;
  }
}

} // namespace

sync_actor::behavior_type sync_actor_impl(sync_actor::stateful_pointer<sync_state> self,
                                          storage::engine* engine, fsync_policy fsync,
                                          std::chrono::milliseconds fsync_interval) {
  auto& st = self->state;
  st.engine = engine;
  st.fsync = fsync;
  st.fsync_interval = fsync_interval;
  st.last_sync = std::chrono::steady_clock::now();
  auto tick = std::min(fsync_interval, std::chrono::milliseconds(sync_tick_ms_max));
  if (tick.count() < 1) tick = std::chrono::milliseconds(1);
  self->delayed_send(self, tick, tick_atom_v);
  return {
      [self, tick](tick_atom) {
        housekeeping(self->state);
        self->delayed_send(self, tick, tick_atom_v);
      },
      [self](stop_atom) {
        self->quit();
        return true;
      },
  };
}

} // namespace minivault
