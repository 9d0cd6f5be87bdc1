// request_deadlines on its own: which requests expire, in what order, and when the next
// tick is due.
#include "actors/cluster/replication/request_deadlines.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace minivault {
namespace {

using namespace std::chrono_literals;
using time_point = request_deadlines::time_point;

caf::message_id rid(std::uint64_t n) {
  return caf::make_message_id(n).response_id();
}

std::vector<std::uint64_t> expire(request_deadlines& d, time_point now) {
  std::vector<std::uint64_t> out;
  d.expire(now, [&](caf::message_id id) { out.push_back(id.request_id().integer_value()); });
  return out;
}

TEST(RequestDeadlines, OnlyOpenRequestsPastTheirDeadlineExpireEarliestFirst) {
  request_deadlines d;
  const time_point t0{};
  d.opened(rid(1), t0 + 30ms);
  d.opened(rid(2), t0 + 10ms);
  d.opened(rid(3), t0 + 20ms);
  d.opened(rid(4), t0 + 40ms);
  EXPECT_EQ(d.open(), 4u);
  ASSERT_TRUE(d.next());
  EXPECT_EQ(*d.next(), t0 + 10ms);
  d.answered(rid(2));
  EXPECT_EQ(*d.next(), t0 + 20ms) << "an answered request no longer sets the next tick";
  EXPECT_TRUE(expire(d, t0 + 19ms).empty());
  EXPECT_EQ(expire(d, t0 + 30ms), (std::vector<std::uint64_t>{3, 1}));
  EXPECT_EQ(d.open(), 1u);
  EXPECT_EQ(*d.next(), t0 + 40ms);
  d.answered(rid(3)); // already expired: a late answer changes nothing
  EXPECT_EQ(d.open(), 1u);
  d.answered(rid(4));
  EXPECT_FALSE(d.next());
  EXPECT_TRUE(expire(d, t0 + 1s).empty());
  EXPECT_EQ(d.open(), 0u);
}

TEST(RequestDeadlines, AnsweredRequestsDoNotPileUpInTheQueue) {
  request_deadlines d;
  const time_point t0{};
  // Steady traffic answered in order: nothing is left to sweep at the deadline.
  for (std::uint64_t i = 1; i <= 100000; ++i) {
    d.opened(rid(i), t0 + std::chrono::microseconds(i));
    d.answered(rid(i));
  }
  EXPECT_EQ(d.open(), 0u);
  EXPECT_FALSE(d.next());
}

} // namespace
} // namespace minivault
