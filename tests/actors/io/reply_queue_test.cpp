// The per-connection reply queue without sockets (actors/io/reply_queue.hpp): replies leave
// in request order whatever order their batches complete in, failures reach exactly the
// replies that depend on the failed batch, the bounds hold, and a closing connection is
// finished only once every queued reply has been sent.
#include <gtest/gtest.h>

#include "actors/io/reply_queue.hpp"

namespace minivault {
namespace {

/// Readable replies: "V:<value>;", "D;", "E:<text>;", "doc:<body>;".
class text_encoder final : public reply_encoder {
public:
  void value(std::string& out, const reply_shape&, std::string_view v) const override {
    out.append("V:").append(v).append(";");
  }
  void done(std::string& out, const reply_shape&) const override { out.append("D;"); }
  void error(std::string& out, const reply_shape&, errc e, std::string_view d) const override {
    out.append("E:").append(d.empty() ? to_string(e) : d).append(";");
  }
  void document(std::string& out, const reply_shape&, std::string_view b) const override {
    out.append("doc:").append(b).append(";");
  }
};

reply_slot ack(std::uint64_t ticket, op_kind op = op_kind::set) {
  reply_slot s;
  s.k = reply_slot::kind::write_ack;
  s.shape.op = op;
  s.ticket = ticket;
  return s;
}

reply_slot ready(std::string bytes) {
  reply_slot s;
  s.k = reply_slot::kind::ready;
  s.data = std::move(bytes);
  return s;
}

reply_slot remote_read(std::uint64_t ticket, std::uint32_t index) {
  reply_slot s;
  s.k = reply_slot::kind::remote_read;
  s.ticket = ticket;
  s.read_index = index;
  return s;
}

std::uint64_t count(const front_metrics& m, op_kind k, op_result r) {
  return m.requests[static_cast<std::size_t>(k)][static_cast<std::size_t>(r)].load();
}

class reply_queue_test : public ::testing::Test {
protected:
  /// Drains up to `completed` and returns what is unsent, marking it sent.
  std::string take(reply_queue& q, std::uint64_t completed) {
    q.drain(completed, enc, metrics, 0);
    std::string out(q.unsent());
    q.sent(out.size());
    q.reset_sent();
    return out;
  }
  text_encoder enc;
  front_metrics metrics;
};

TEST_F(reply_queue_test, replies_go_straight_out_until_one_must_wait) {
  reply_queue q;
  q.reply("a;");
  EXPECT_TRUE(q.nothing_waiting());
  q.push(ack(1));
  q.reply("b;"); // behind the write: must not overtake it
  EXPECT_EQ(q.waiting(), 2u);
  EXPECT_EQ(q.unsent(), "a;");
  q.sent(2);
  q.reset_sent();
  EXPECT_EQ(take(q, 0), "") << "batch 1 has not completed";
  EXPECT_EQ(take(q, 1), "D;b;");
  EXPECT_TRUE(q.finished());
}

TEST_F(reply_queue_test, later_batches_completing_first_do_not_reorder_replies) {
  reply_queue q;
  q.push(ack(1));
  q.push(ack(2, op_kind::del));
  q.push(ready("r;"));
  // Completion is cumulative ("every ticket up to N"), so ticket 2 alone never drains.
  EXPECT_EQ(take(q, 2), "D;D;r;");
  EXPECT_EQ(count(metrics, op_kind::set, op_result::ok), 1u);
  EXPECT_EQ(count(metrics, op_kind::del, op_result::ok), 1u);
}

TEST_F(reply_queue_test, a_failed_batch_fails_only_the_replies_that_depend_on_it) {
  reply_queue q;
  q.push(ack(1));
  reply_slot own = ready("V:x;");
  own.k = reply_slot::kind::read_own_write; // a read of the write in batch 1
  own.ticket = 1;
  q.push(std::move(own));
  q.push(ack(2));
  q.push(ready("other;")); // answered from the table: independent of any batch
  q.fail(1, errc::io_error);
  EXPECT_EQ(take(q, 2), "E:io error;E:io error;D;other;");
  EXPECT_EQ(count(metrics, op_kind::set, op_result::error), 1u);
  EXPECT_EQ(count(metrics, op_kind::set, op_result::ok), 1u);
}

TEST_F(reply_queue_test, a_failure_with_a_detail_is_answered_with_it) {
  reply_queue q;
  q.push(ack(1));
  q.push(remote_read(2, 0));
  q.fail(1, errc::no_quorum, "no quorum: region west has 0 of 3 replicas up, 2 needed");
  std::vector<read_result> reads(1);
  reads[0] = {errc::timeout, "", "timeout: 1 of 3 replicas answered, 2 needed"};
  q.deliver_reads(2, reads);
  EXPECT_EQ(take(q, 2), "E:no quorum: region west has 0 of 3 replicas up, 2 needed;"
                        "E:timeout: 1 of 3 replicas answered, 2 needed;");
}

TEST_F(reply_queue_test, remote_reads_get_their_own_answer_of_the_batch) {
  reply_queue q;
  q.push(remote_read(3, 1));
  q.push(remote_read(3, 0));
  EXPECT_EQ(q.remote_reads(), 2u);
  std::vector<read_result> reads(2);
  reads[0] = {errc::ok, "zero"};
  reads[1] = {errc::not_found, ""};
  q.deliver_reads(3, reads);
  EXPECT_EQ(take(q, 3), "E:not found;V:zero;");
  EXPECT_EQ(q.remote_reads(), 0u);
  EXPECT_EQ(count(metrics, op_kind::get, op_result::ok), 1u);
  EXPECT_EQ(count(metrics, op_kind::get, op_result::not_found), 1u);
}

TEST_F(reply_queue_test, a_failed_batch_answers_its_remote_reads_with_the_failure) {
  reply_queue q;
  q.push(remote_read(1, 0));
  q.fail(1, errc::timeout);
  EXPECT_EQ(take(q, 1), "E:timeout;");
  EXPECT_EQ(count(metrics, op_kind::get, op_result::error), 1u);
}

TEST_F(reply_queue_test, full_at_each_bound) {
  reply_queue::limits l;
  l.replies_max = 3;
  l.remote_reads_max = 2;
  l.out_bytes_soft_max = 10;
  reply_queue by_count(l);
  by_count.push(ack(1));
  by_count.push(ack(1));
  EXPECT_FALSE(by_count.full());
  by_count.push(ack(1));
  EXPECT_TRUE(by_count.full());

  reply_queue by_reads(l);
  by_reads.push(remote_read(1, 0));
  EXPECT_FALSE(by_reads.full());
  by_reads.push(remote_read(1, 1));
  EXPECT_TRUE(by_reads.full());
  EXPECT_EQ(by_reads.drop_remote_reads(), 2u) << "a closed connection returns its claims";

  reply_queue by_bytes(l);
  by_bytes.reply("0123456"); // unsent output counts
  by_bytes.push(ack(1));
  EXPECT_FALSE(by_bytes.full());
  by_bytes.reply("abc"); // queued bytes count too: 7 + 3 reaches 10
  EXPECT_TRUE(by_bytes.full());
}

TEST_F(reply_queue_test, draining_stops_at_the_output_bound_until_the_client_reads) {
  reply_queue::limits l;
  l.out_bytes_soft_max = 8;
  reply_queue q(l);
  q.push(ack(1));
  for (int i = 0; i < 4; ++i)
    q.push(ready("xxxxx;"));
  q.drain(1, enc, metrics, 0);
  EXPECT_EQ(q.unsent(), "D;xxxxx;") << "stops once 8 bytes are unsent";
  EXPECT_EQ(q.waiting(), 3u);
  q.sent(q.unsent().size());
  q.reset_sent();
  q.drain(1, enc, metrics, 0);
  EXPECT_EQ(q.unsent(), "xxxxx;xxxxx;");
}

TEST_F(reply_queue_test, a_closing_connection_is_finished_only_when_all_is_sent) {
  // The lingering close waits for finished(): an error reply queued behind a write must
  // reach the client before the connection goes away.
  reply_queue q;
  q.push(ack(1));
  q.reply("E:unauthorized;");
  EXPECT_FALSE(q.finished());
  q.drain(1, enc, metrics, 0);
  EXPECT_TRUE(q.nothing_waiting());
  EXPECT_FALSE(q.finished()) << "replies drained but not sent";
  q.sent(3);
  EXPECT_FALSE(q.finished());
  q.sent(q.unsent().size());
  EXPECT_TRUE(q.finished());
}

TEST_F(reply_queue_test, pending_writes_are_forgotten_once_durable) {
  reply_queue q;
  q.add_pending({1, 11, 0});
  q.add_pending({2, 22, 0});
  q.push(ack(1));
  q.push(ack(2));
  q.drain(1, enc, metrics, 0);
  ASSERT_EQ(q.pending().size(), 1u);
  EXPECT_EQ(q.pending().front().ticket, 2u);
  q.drain(2, enc, metrics, 0);
  EXPECT_TRUE(q.pending().empty());
}

} // namespace
} // namespace minivault
