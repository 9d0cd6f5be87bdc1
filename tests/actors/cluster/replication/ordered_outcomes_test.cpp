// ordered_outcomes (actors/cluster/replication/ordered_outcomes.hpp) with a real completion_board:
// outcomes decided out of order reach the board in ticket order per lane; lanes are independent.
#include "actors/cluster/replication/ordered_outcomes.hpp"

#include <gtest/gtest.h>
#include <poll.h>

#include <initializer_list>
#include <utility>
#include <vector>

#include "actors/io/completion_board.hpp"

namespace minivault {
namespace {

std::vector<completion> take(completion_board& board, std::uint32_t lane) {
  std::vector<completion> out;
  board.take(lane, out);
  return out;
}

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

std::vector<std::uint64_t> tickets(const std::vector<completion>& cs) {
  std::vector<std::uint64_t> out;
  for (auto& c : cs)
    out.push_back(c.ticket);
  return out;
}

std::vector<errc> results(const std::vector<completion>& cs) {
  std::vector<errc> out;
  for (auto& c : cs)
    out.push_back(c.result);
  return out;
}

/// Decides each (ticket, outcome) of `decisions` on `lane`, in this order.
void decide_all(ordered_outcomes& oo, completion_board& board, std::uint32_t lane,
                std::initializer_list<std::pair<std::uint64_t, errc>> decisions) {
  for (const auto& [ticket, outcome] : decisions)
    oo.decide(board, lane, ticket, outcome);
}

/// Expects tickets first..last (inclusive) on `lane`.
void expect_tickets(ordered_outcomes& oo, std::uint32_t lane, std::uint64_t first,
                    std::uint64_t last) {
  for (std::uint64_t t = first; t <= last; ++t)
    oo.expect(lane, t);
}

TEST(ordered_outcomes, in_order_decisions_are_posted_at_once) {
  completion_board board(1);
  ordered_outcomes oo(1);
  expect_tickets(oo, 0, 1, 2);
  oo.decide(board, 0, 1, errc::ok);
  EXPECT_TRUE(readable(board.event_fd(0)));
  auto got = take(board, 0);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].ticket, 1u);
  EXPECT_EQ(got[0].result, errc::ok);
  EXPECT_EQ(oo.waiting(0), 1u);
  oo.decide(board, 0, 2, errc::timeout);
  got = take(board, 0);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].ticket, 2u);
  EXPECT_EQ(got[0].result, errc::timeout);
  EXPECT_EQ(oo.waiting(0), 0u);
}

TEST(ordered_outcomes, later_tickets_wait_for_earlier_ones) {
  completion_board board(1);
  ordered_outcomes oo(1);
  expect_tickets(oo, 0, 10, 14);
  decide_all(oo, board, 0, {{14, errc::ok}, {12, errc::no_quorum}, {13, errc::timeout}});
  EXPECT_FALSE(readable(board.event_fd(0))) << "nothing may be posted before ticket 10";
  EXPECT_TRUE(take(board, 0).empty());
  EXPECT_EQ(oo.waiting(0), 5u);
  oo.decide(board, 0, 11, errc::ok);
  EXPECT_TRUE(take(board, 0).empty());
  oo.decide(board, 0, 10, errc::io_error); // releases everything
  auto got = take(board, 0);
  ASSERT_EQ(tickets(got), (std::vector<std::uint64_t>{10, 11, 12, 13, 14}));
  // Each keeps its own outcome.
  EXPECT_EQ(results(got), (std::vector<errc>{errc::io_error, errc::ok, errc::no_quorum,
                                             errc::timeout, errc::ok}));
  EXPECT_EQ(oo.waiting(0), 0u);
}

TEST(ordered_outcomes, release_stops_at_the_first_undecided_ticket) {
  completion_board board(1);
  ordered_outcomes oo(1);
  expect_tickets(oo, 0, 1, 4);
  decide_all(oo, board, 0, {{2, errc::ok}, {4, errc::ok}, {1, errc::ok}});
  EXPECT_EQ(tickets(take(board, 0)), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(oo.waiting(0), 2u);
  oo.decide(board, 0, 3, errc::ok);
  EXPECT_EQ(tickets(take(board, 0)), (std::vector<std::uint64_t>{3, 4}));
}

TEST(ordered_outcomes, lanes_are_independent) {
  completion_board board(3);
  ordered_outcomes oo(3);
  expect_tickets(oo, 0, 1, 2);
  expect_tickets(oo, 1, 1, 2);
  oo.expect(2, 7);
  // Lane 0's first ticket is undecided: lanes 1 and 2 must not wait for it.
  oo.decide(board, 0, 2, errc::ok);
  oo.decide(board, 1, 1, errc::ok);
  oo.decide(board, 1, 2, errc::timeout);
  oo.decide(board, 2, 7, errc::no_quorum);
  EXPECT_TRUE(take(board, 0).empty());
  EXPECT_FALSE(readable(board.event_fd(0)));
  auto l1 = take(board, 1);
  ASSERT_EQ(tickets(l1), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(l1[1].result, errc::timeout);
  auto l2 = take(board, 2);
  ASSERT_EQ(l2.size(), 1u);
  EXPECT_EQ(l2[0].ticket, 7u);
  EXPECT_EQ(l2[0].result, errc::no_quorum);
  oo.decide(board, 0, 1, errc::ok);
  EXPECT_EQ(tickets(take(board, 0)), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_TRUE(take(board, 1).empty());
  EXPECT_TRUE(take(board, 2).empty());
}

TEST(ordered_outcomes, unknown_tickets_are_ignored) {
  completion_board board(2);
  ordered_outcomes oo(2);
  oo.expect(0, 5);
  oo.decide(board, 0, 4, errc::ok); // never expected
  oo.decide(board, 1, 5, errc::ok); // expected on the other lane only
  EXPECT_TRUE(take(board, 0).empty());
  EXPECT_TRUE(take(board, 1).empty());
  EXPECT_EQ(oo.waiting(0), 1u);
  oo.decide(board, 0, 5, errc::ok);
  EXPECT_EQ(tickets(take(board, 0)), (std::vector<std::uint64_t>{5}));
  oo.decide(board, 0, 5, errc::ok); // already posted: now unknown
  EXPECT_TRUE(take(board, 0).empty());
}

TEST(ordered_outcomes, read_results_travel_with_their_ticket) {
  completion_board board(1);
  ordered_outcomes oo(1);
  expect_tickets(oo, 0, 1, 2);
  oo.decide(board, 0, 2, errc::ok,
            {read_result{errc::ok, "two"}, read_result{errc::not_found, ""}});
  oo.decide(board, 0, 1, errc::ok, {read_result{errc::ok, "one"}});
  auto got = take(board, 0);
  ASSERT_EQ(got.size(), 2u);
  ASSERT_EQ(got[0].reads.size(), 1u);
  EXPECT_EQ(got[0].reads[0].value, "one");
  ASSERT_EQ(got[1].reads.size(), 2u);
  EXPECT_EQ(got[1].reads[0].status, errc::ok);
  EXPECT_EQ(got[1].reads[0].value, "two");
  EXPECT_EQ(got[1].reads[1].status, errc::not_found);
}

TEST(ordered_outcomes, many_tickets_decided_in_reverse_come_out_in_order) {
  completion_board board(1);
  ordered_outcomes oo(1);
  const std::uint64_t n = 200;
  expect_tickets(oo, 0, 1, n);
  for (std::uint64_t t = n; t >= 2; --t)
    oo.decide(board, 0, t, errc::ok);
  EXPECT_TRUE(take(board, 0).empty());
  oo.decide(board, 0, 1, errc::ok);
  auto got = take(board, 0);
  ASSERT_EQ(got.size(), n);
  for (std::uint64_t i = 0; i < n; ++i)
    ASSERT_EQ(got[i].ticket, i + 1);
  EXPECT_FALSE(readable(board.event_fd(0))) << "take() clears the eventfd";
}

} // namespace
} // namespace minivault
