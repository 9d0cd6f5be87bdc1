#pragma once
// Durable writes for threads that block (the HTTP workers), through the same storage
// actor and group commits as the binary protocol.
//
// A caller packs its write into a one-op write_batch on the gateway's own lane of the
// completion board and waits. One dispatcher thread watches that lane's eventfd and
// wakes the caller whose ticket completed. Batches of many callers that reach the
// storage actor before its next flush share one group commit.
//
// Thread-safety: `write` may be called from any number of threads at once. `stop`
// (idempotent, also run by the destructor) fails the writes still waiting with
// `shutting_down`, refuses new ones and joins the dispatcher.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "actors/completion_board.hpp"
#include "protocol/actors.hpp"
#include "protocol/errc.hpp"

namespace minivault {

class write_gateway {
public:
  /// `lane` is this gateway's lane of `board` (no I/O thread may use it).
  write_gateway(storage_actor storage, completion_board& board, std::uint32_t lane);
  ~write_gateway();
  write_gateway(const write_gateway&) = delete;
  write_gateway& operator=(const write_gateway&) = delete;

  /// Writes (or deletes) one key and waits until it is durable, failed, or `timeout`
  /// passed. Returns ok, the store's error (e.g. io_error), `timeout` (the outcome is then
  /// unknown: the write may still commit) or `shutting_down`.
  [[nodiscard]] errc write(bool del, std::string_view key, std::string_view value,
                           std::chrono::milliseconds timeout);
  void stop();

private:
  struct waiter {
    bool done = false;
    errc result = errc::ok;
    std::condition_variable cv;
  };
  void dispatch();

  storage_actor storage_;
  completion_board& board_;
  std::uint32_t lane_;
  std::mutex mutex_;
  std::uint64_t next_ticket_ = 1;                      // guarded by mutex_
  std::unordered_map<std::uint64_t, waiter*> waiting_; // guarded by mutex_
  bool stopping_ = false;                              // guarded by mutex_
  int stop_fd_ = -1;                                   // eventfd that ends the dispatcher's wait
  std::thread dispatcher_;
};

} // namespace minivault
