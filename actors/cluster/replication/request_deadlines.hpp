#pragma once
// Request timeouts an actor keeps itself, instead of one CAF timeout per request.
//
// CAF 0.17 arms every request's timeout on its clock thread and cancels it when the
// answer comes: two events pushed to that thread, each waking it (measured on a 3-node
// cluster at one request in flight per connection: the coordinator's clock thread took
// 3.75 us of CPU per acknowledged write, 11% of the node's). Here the actor sends its
// requests with no CAF timeout, registers each one (its response id and deadline), and
// one timer message (`tick_atom`), armed for the earliest open deadline, delivers
// `sec::request_timeout` to each request still open past its deadline, the same error
// message CAF's clock would send. An answer that comes later finds no handler and is
// dropped by CAF, as it is after a CAF timeout.
//
// Contract: call `answered` from both handlers of each registered request (the result and
// the error handler), so a request is open exactly until its handler ran.
#include <caf/actor_clock.hpp>
#include <caf/message_id.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <unordered_set>
#include <vector>

namespace minivault {

class request_deadlines {
public:
  /// The actor's clock (self->clock().now()): tests run it on virtual time.
  using time_point = caf::actor_clock::time_point;

  /// A request (by its response id) that must be answered by `deadline`.
  void opened(caf::message_id response_id, time_point deadline) {
    open_.insert(response_id.integer_value());
    due_.push(entry{deadline, response_id});
  }
  /// Its handler ran: it is no longer open.
  void answered(caf::message_id response_id) {
    open_.erase(response_id.integer_value());
    drop_closed();
  }
  /// Calls `on_expired(response_id)` for each request still open whose deadline is at or
  /// before `now`, and forgets it.
  template <class F> void expire(time_point now, F&& on_expired) {
    while (!due_.empty() && due_.top().deadline <= now) {
      entry e = due_.top();
      due_.pop();
      if (open_.erase(e.id.integer_value()) > 0) on_expired(e.id);
    }
    drop_closed();
  }
  /// The earliest deadline of an open request, if any.
  [[nodiscard]] std::optional<time_point> next() const {
    if (due_.empty()) return std::nullopt;
    return due_.top().deadline;
  }
  [[nodiscard]] std::size_t open() const noexcept { return open_.size(); }

private:
  struct entry {
    time_point deadline;
    caf::message_id id;
    bool operator>(const entry& o) const noexcept { return deadline > o.deadline; }
  };
  /// Answered requests at the front go at once, so the queue holds about as many entries
  /// as there are open requests (answers come roughly in deadline order).
  void drop_closed() {
    while (!due_.empty() && open_.count(due_.top().id.integer_value()) == 0)
      due_.pop();
  }
  std::priority_queue<entry, std::vector<entry>, std::greater<entry>> due_;
  std::unordered_set<std::uint64_t> open_;
};

} // namespace minivault
