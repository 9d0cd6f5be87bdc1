#include "actors/write_gateway.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <vector>

#include "actors/storage_actor.hpp"
#include "protocol/assert.hpp"

namespace minivault {

write_gateway::write_gateway(storage_actor storage, completion_board& board, std::uint32_t lane)
    : storage_(std::move(storage)), board_(board), lane_(lane) {
  KV_ASSERT(lane_ < board_.lanes());
  stop_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  KV_ASSERT(stop_fd_ >= 0);
  dispatcher_ = std::thread([this] { dispatch(); });
}

write_gateway::~write_gateway() {
  stop();
  ::close(stop_fd_);
}

errc write_gateway::write(bool del, std::string_view key, std::string_view value,
                          std::chrono::milliseconds timeout) {
  write_batch batch;
  batch.origin = lane_;
  pack_write(batch, del, key, value);
  waiter w;
  std::unique_lock<std::mutex> lock(mutex_);
  if (stopping_) return errc::shutting_down;
  // The ticket is taken and the batch sent under one lock, so the storage actor sees
  // this lane's tickets in increasing order, as it does every I/O thread's.
  batch.ticket = next_ticket_++;
  const std::uint64_t ticket = batch.ticket;
  waiting_.emplace(ticket, &w);
  caf::anon_send(storage_, std::move(batch));
  if (!w.cv.wait_for(lock, timeout, [&w] { return w.done; })) {
    waiting_.erase(ticket); // a late completion finds no waiter and is dropped
    return errc::timeout;
  }
  return w.result;
}

void write_gateway::dispatch() {
  std::vector<completion> done;
  pollfd fds[2] = {{board_.event_fd(lane_), POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) continue; // EINTR
    if (fds[1].revents) return;
    done.clear();
    board_.take(lane_, done);
    std::lock_guard<std::mutex> lock(mutex_);
    for (const completion& c : done) {
      auto it = waiting_.find(c.ticket);
      if (it == waiting_.end()) continue; // its caller timed out
      it->second->done = true;
      it->second->result = c.result;
      it->second->cv.notify_one();
      waiting_.erase(it);
    }
  }
}

void write_gateway::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [ticket, w] : waiting_) {
      w->done = true;
      w->result = errc::shutting_down;
      w->cv.notify_one();
    }
    waiting_.clear();
  }
  std::uint64_t one = 1;
  (void)!::write(stop_fd_, &one, sizeof(one));
  if (dispatcher_.joinable()) dispatcher_.join();
}

} // namespace minivault
