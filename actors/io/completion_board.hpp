#pragma once
// The way back from the writer to the I/O threads: one lane per I/O thread, each a
// mutex-guarded vector of (ticket, outcome) plus an eventfd that wakes the thread's epoll
// loop. Writers (post): on one node whoever holds the engine's writer role (an I/O thread
// or the storage actor, actors/durability/group_commit.hpp); in a cluster the replication
// actor, through ordered_outcomes. Reader (take): the lane's own I/O thread.
// A lane holds at most `batches_in_flight_max` entries, because an I/O thread never has
// more batches than that outstanding.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "protocol/errc.hpp"
#include "protocol/thread_annotations.hpp"

namespace minivault {

/// The answer to one read a batch carried (a quorum read, or a read this node had to
/// forward to the key's replicas), in the order of the batch's reads.
struct read_result {
  read_result() = default;
  read_result(errc s, std::string v, std::string d = {})
      : status(s), value(std::move(v)), detail(std::move(d)) {}

  errc status = errc::ok; // ok (value), not_found, or why it failed
  std::string value;
  std::string detail; // a failure's text for the client (e.g. which region); may be empty
};

struct completion {
  std::uint64_t ticket = 0;
  errc result = errc::ok;
  std::vector<read_result> reads; // empty unless the batch carried reads
  std::string detail;             // a failure's text for the client; may be empty
};

class completion_board {
public:
  explicit completion_board(std::size_t lanes);
  ~completion_board();
  completion_board(const completion_board&) = delete;
  completion_board& operator=(const completion_board&) = delete;

  /// Records the outcome of batch `ticket` of lane `origin` and wakes that lane (unless
  /// `wake` is false: the lane's own thread posts it and takes it at once).
  void post(std::uint32_t origin, std::uint64_t ticket, errc result,
            std::vector<read_result> reads = {}, std::string detail = {}, bool wake = true);
  /// Moves the lane's completions (in posting order) into `out`; clears the eventfd
  /// (`woken`: the lane's thread was woken by it; false skips that read).
  void take(std::uint32_t origin, std::vector<completion>& out, bool woken = true);
  /// The eventfd to watch for lane `origin` (readable when completions are waiting).
  [[nodiscard]] int event_fd(std::uint32_t origin) const noexcept;
  [[nodiscard]] std::size_t lanes() const noexcept { return lanes_.size(); }

private:
  struct lane {
    minivault::mutex mutex;
    std::vector<completion> items MV_GUARDED_BY(mutex);
    int efd = -1;
  };
  std::vector<std::unique_ptr<lane>> lanes_;
};

} // namespace minivault
