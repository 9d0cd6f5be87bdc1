#pragma once
// Outcomes of write batches, released to the completion board in ticket order per I/O
// thread. The I/O threads rely on that order ("every ticket up to N has completed"), but
// with replication a later batch can reach its quorum before an earlier one.
//
// Bounded by the I/O threads: a lane never holds more than batches_in_flight_max
// entries, since that is all its thread can have outstanding.
#include <cstdint>
#include <deque>
#include <vector>

#include "actors/io/completion_board.hpp"

namespace minivault {

class ordered_outcomes {
public:
  explicit ordered_outcomes(std::size_t lanes) : lanes_(lanes) {}

  /// A batch arrived: its outcome is due, in this order within its lane.
  void expect(std::uint32_t lane, std::uint64_t ticket) {
    lanes_[lane].push_back(entry{ticket, false, errc::ok, {}, {}});
  }

  /// Records the outcome of (lane, ticket) and posts every outcome at the front of the
  /// lane that is now known. Unknown tickets are ignored.
  void decide(completion_board& board, std::uint32_t lane, std::uint64_t ticket, errc result,
              std::vector<read_result> reads = {}, std::string detail = {}) {
    auto& q = lanes_[lane];
    for (auto& e : q)
      if (e.ticket == ticket) {
        e.known = true;
        e.result = result;
        e.reads = std::move(reads);
        e.detail = std::move(detail);
        break;
      }
    while (!q.empty() && q.front().known) {
      board.post(lane, q.front().ticket, q.front().result, std::move(q.front().reads),
                 std::move(q.front().detail));
      q.pop_front();
    }
  }

  [[nodiscard]] std::size_t waiting(std::uint32_t lane) const { return lanes_[lane].size(); }

private:
  struct entry {
    std::uint64_t ticket;
    bool known;
    errc result;
    std::vector<read_result> reads;
    std::string detail;
  };
  std::vector<std::deque<entry>> lanes_;
};

} // namespace minivault
