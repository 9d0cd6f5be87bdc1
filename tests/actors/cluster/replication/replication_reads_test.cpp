// The read path of the replication actor (actors/cluster/replication/replication_actor.cpp:
// start_read, read_answer, repair, maybe_done) on CAF's deterministic test coordinator: quorum
// reads at local_quorum (need 2 of 3: rf - write quorum + 1) and forwarded reads (also 2 of
// the key's 3 replicas, 5 members, a key this node does not hold). This node's replica is a real
// engine the actor reads directly; peers are fake endpoints whose read_atom answers a configurable
// record, fails, answers garbage or holds (replication_fakes.hpp). No threads, no sleeps, no
// network.
//
// Note on what "newest" means here: a read resolves after `need` answers, so it returns
// the newest record among the answers counted so far; an answer arriving later only
// feeds read repair. The tests therefore hold the replica they do not want counted.
#include "actors/cluster/replication/replication_actor.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "tests/actors/cluster/replication/replication_fakes.hpp"

namespace minivault {
namespace {

using storage::version;
using namespace std::chrono_literals;
using namespace minivault::test;

/// A version of "time" n (ms) taken by node `node`.
version ver(std::uint64_t n, std::uint32_t node = 1) {
  return version{n << 16, node};
}
fake_record value(const std::string& v, std::uint64_t n, std::uint32_t node = 1) {
  return fake_record{false, v, ver(n, node)};
}
fake_record tombstone(std::uint64_t n, std::uint32_t node = 1) {
  return fake_record{true, "", ver(n, node)};
}

struct read_spec {
  std::string key;
  bool quorum = true;
};

client_batch read_batch(std::uint32_t origin, std::uint64_t ticket,
                        const std::vector<read_spec>& reads) {
  client_batch b;
  b.origin = origin;
  b.ticket = ticket;
  for (auto& r : reads)
    pack_read(b, r.key, r.quorum);
  return b;
}

client_batch qget(const std::string& key, std::uint64_t ticket = 1) {
  return read_batch(0, ticket, {{key, true}});
}

const std::string not_found_text(to_string(errc::not_found));

/// The reads of the one ok completion in `got`, each as its value or, when not ok, its
/// status (not_found_text, ...); empty when `got` is not exactly one ok completion.
std::vector<std::string> read_outcomes(const std::vector<completion>& got) {
  std::vector<std::string> out;
  if (got.size() != 1 || got[0].result != errc::ok) return out;
  for (const auto& r : got[0].reads)
    out.push_back(r.status == errc::ok ? r.value : std::string(to_string(r.status)));
  return out;
}

/// `got` is exactly one completion of `ticket`, ok, carrying exactly one read with
/// `status` (and `value` when ok).
::testing::AssertionResult one_read(const std::vector<completion>& got, std::uint64_t ticket,
                                    errc status, const std::string& value = {}) {
  if (got.size() != 1) return ::testing::AssertionFailure() << "completions: " << show(got);
  const completion& c = got[0];
  if (c.ticket != ticket || c.result != errc::ok || c.reads.size() != 1)
    return ::testing::AssertionFailure() << "completion: " << show(got);
  if (c.reads[0].status != status || (status == errc::ok && c.reads[0].value != value))
    return ::testing::AssertionFailure()
           << "read: " << show(got) << ", expected " << to_string(status) << " \"" << value << "\"";
  return ::testing::AssertionSuccess();
}

/// The single versioned record of a repair batch.
::testing::AssertionResult is_repair(const versioned_writes& b, const std::string& key,
                                     const fake_record& want) {
  auto ops = decode(b);
  if (ops.size() != 1) return ::testing::AssertionFailure() << ops.size() << " ops in the repair";
  const decoded& d = ops[0];
  if (d.key != key || d.del != want.del || d.ver != want.ver ||
      (!want.del && d.value != want.value))
    return ::testing::AssertionFailure()
           << "repair carries " << (d.del ? "a tombstone" : "\"" + d.value + "\"") << " of "
           << d.key << " at " << d.ver.hlc << "/" << d.ver.node << ", expected "
           << (want.del ? "a tombstone" : "\"" + want.value + "\"") << " at " << want.ver.hlc << "/"
           << want.ver.node;
  return ::testing::AssertionSuccess();
}

/// A batch of ticket 1 on lane 0: a SET of `wkey` to `wvalue`, then a quorum read of `rkey`.
client_batch write_then_read(const std::string& wkey, const std::string& wvalue,
                             const std::string& rkey) {
  client_batch b = make_client_batch(0, 1, {{false, wkey, wvalue}});
  pack_read(b, rkey, true);
  return b;
}

class replication_reads_test : public replication_fixture {
protected:
  /// Three members, every peer up; "k" is `mine` on this node and `theirs` on peer 1, and
  /// peer 2 holds its answer (not counted). QGETs "k" (ticket 1); what was posted.
  std::vector<completion> qget_mine_and_peer1(const fake_record& mine, const fake_record& theirs) {
    start3();
    local_has("k", mine);
    peer_has(1, "k", theirs);
    peer_ctl[2]->rm = replica_ctl::read_mode::hold; // not counted
    send(qget("k"));
    return take();
  }
};

// -- quorum reads: the newest answer wins ----------------------------------------------------

TEST_F(replication_reads_test, quorum_read_returns_a_peers_newer_version_over_the_local_one) {
  EXPECT_TRUE(
      one_read(qget_mine_and_peer1(value("old", 100), value("new", 200)), 1, errc::ok, "new"));
  EXPECT_EQ(peer_ctl[1]->reads_of("k"), 1u);
  EXPECT_EQ(peer_ctl[2]->reads_of("k"), 1u) << "a quorum read asks every replica";
  EXPECT_EQ(counters.batches_ok.load(), 0u) << "a batch of reads only is not a replicated batch";
}

TEST_F(replication_reads_test, quorum_read_returns_the_local_version_when_it_is_the_newest) {
  EXPECT_TRUE(
      one_read(qget_mine_and_peer1(value("new", 300), value("old", 100)), 1, errc::ok, "new"));
}

TEST_F(replication_reads_test, quorum_read_finds_a_key_only_one_answering_replica_holds) {
  start3();
  peer_has(2, "k", value("only-here", 100)); // nothing locally
  peer_ctl[1]->rm = replica_ctl::read_mode::hold;
  send(qget("k"));
  EXPECT_TRUE(one_read(take(), 1, errc::ok, "only-here"));

  local_has("j", value("only-local", 100)); // peer 2 has no record of j
  send(qget("j", 2));
  EXPECT_TRUE(one_read(take(), 2, errc::ok, "only-local"));
}

TEST_F(replication_reads_test, ties_on_the_clock_are_broken_by_node_id) {
  EXPECT_TRUE(
      one_read(qget_mine_and_peer1(value("from-node-3", 100, 3), value("from-node-9", 100, 9)), 1,
               errc::ok, "from-node-9"));
}

TEST_F(replication_reads_test, no_record_anywhere_is_not_found) {
  start3();
  send(qget("missing"));
  EXPECT_TRUE(one_read(take(), 1, errc::not_found));
  EXPECT_EQ(requests_sent(), 0u) << "nothing to repair";
}

// -- tombstones ------------------------------------------------------------------------------

TEST_F(replication_reads_test, a_newer_tombstone_reads_as_not_found) {
  EXPECT_TRUE(one_read(qget_mine_and_peer1(value("deleted-later", 100), tombstone(200)), 1,
                       errc::not_found));
}

TEST_F(replication_reads_test, a_local_tombstone_newer_than_the_peers_value_reads_as_not_found) {
  EXPECT_TRUE(
      one_read(qget_mine_and_peer1(tombstone(300), value("stale", 100)), 1, errc::not_found));
}

TEST_F(replication_reads_test, a_value_written_after_the_tombstone_is_found) {
  EXPECT_TRUE(
      one_read(qget_mine_and_peer1(tombstone(100), value("again", 200)), 1, errc::ok, "again"));
}

// -- too few replicas: no_quorum at once -----------------------------------------------------

TEST_F(replication_reads_test, quorum_read_with_no_peer_up_is_no_quorum_at_once) {
  start(3); // no peer ever came up: only this node can answer, 2 are needed
  local_has("k", value("here", 100));
  send(qget("k"));
  EXPECT_TRUE(one_read(take(), 1, errc::no_quorum)) << "answered without waiting for a timeout";
}

TEST_F(replication_reads_test, quorum_read_with_one_peer_down_still_succeeds) {
  start(3);
  up(1);
  local_has("k", value("old", 100));
  peer_has(1, "k", value("new", 200));
  send(qget("k"));
  EXPECT_TRUE(one_read(take(), 1, errc::ok, "new"));
  EXPECT_EQ(peer_ctl[2]->reads.size(), 0u) << "a down peer is not asked";
}

TEST_F(replication_reads_test, quorum_read_after_peers_went_down_is_no_quorum_at_once) {
  start3();
  down(1);
  down(2);
  send(qget("k"));
  EXPECT_TRUE(one_read(take(), 1, errc::no_quorum));
  EXPECT_EQ(peer_ctl[1]->reads.size() + peer_ctl[2]->reads.size(), 0u);
}

TEST_F(replication_reads_test, five_members_reads_of_a_key_whose_replicas_are_down_fail_at_once) {
  start(5, 3);
  all_up();
  const std::string key = find_key("far-", false);
  const auto reps = replicas_of(key);
  ASSERT_EQ(std::count(reps.begin(), reps.end(), 0u), 0);
  down(reps[0]);
  down(reps[1]);
  // One replica up: neither a quorum read nor a forwarded read (which also needs a read
  // quorum, so that it sees every acknowledged write) can be served.
  peer_has(reps[2], key, value("v", 100));
  send(read_batch(0, 1, {{key, true}}));
  EXPECT_TRUE(one_read(take(), 1, errc::no_quorum));
  send(read_batch(0, 2, {{key, false}}));
  EXPECT_TRUE(one_read(take(), 2, errc::no_quorum));
}

// -- silent and failing peers ----------------------------------------------------------------

TEST_F(replication_reads_test, a_silent_peer_is_not_waited_for_when_the_others_make_the_quorum) {
  start3();
  peer_has(2, "k", value("v", 100));
  peer_ctl[1]->rm = replica_ctl::read_mode::hold; // never answers
  send(qget("k"));
  EXPECT_TRUE(one_read(take(), 1, errc::ok, "v")) << "resolved without advancing time";
  advance(config.timeout); // its request times out later: nothing more is posted
  EXPECT_TRUE(take().empty());
}

TEST_F(replication_reads_test, two_silent_peers_give_timeout_at_the_request_timeout) {
  start3();
  local_has("k", value("v", 100));
  peer_ctl[1]->rm = replica_ctl::read_mode::hold;
  peer_ctl[2]->rm = replica_ctl::read_mode::hold;
  send(qget("k"));
  EXPECT_TRUE(take().empty()) << "one answer (the local one) is not a read quorum";
  advance(config.timeout - 1ms);
  EXPECT_TRUE(take().empty()) << "answered before the timeout";
  advance(1ms);
  EXPECT_TRUE(one_read(take(), 1, errc::timeout));
  // Late answers change nothing.
  release_reads(1);
  release_reads(2);
  EXPECT_TRUE(take().empty());
}

TEST_F(replication_reads_test, a_failing_and_a_silent_peer_give_timeout_not_no_quorum) {
  start3();
  peer_ctl[1]->rm = replica_ctl::read_mode::fail;
  peer_ctl[2]->rm = replica_ctl::read_mode::hold;
  send(qget("k"));
  EXPECT_TRUE(take().empty()) << "the silent peer may still make the quorum";
  advance(config.timeout);
  EXPECT_TRUE(one_read(take(), 1, errc::timeout));
}

TEST_F(replication_reads_test, two_failing_peers_give_no_quorum_without_waiting) {
  start3();
  peer_ctl[1]->rm = replica_ctl::read_mode::fail;
  peer_ctl[2]->rm = replica_ctl::read_mode::fail;
  send(qget("k"));
  EXPECT_TRUE(one_read(take(), 1, errc::no_quorum));
}

TEST_F(replication_reads_test, an_answer_that_is_not_a_versioned_record_counts_as_a_failure) {
  start3();
  peer_ctl[1]->rm = replica_ctl::read_mode::garbage;
  peer_ctl[2]->rm = replica_ctl::read_mode::fail;
  local_has("k", value("v", 100));
  send(qget("k"));
  EXPECT_TRUE(one_read(take(), 1, errc::no_quorum))
      << "an unversioned write in a read answer must not count as a replica's record";

  peer_ctl[2]->rm = replica_ctl::read_mode::answer;
  peer_has(2, "k", value("v", 100));
  send(qget("k", 2));
  EXPECT_TRUE(one_read(take(), 2, errc::ok, "v"));
  EXPECT_EQ(peer_ctl[1]->got.size(), 0u) << "a replica that failed the read is not repaired";
}

// -- read repair -----------------------------------------------------------------------------

TEST_F(replication_reads_test, repair_sends_the_newest_record_to_a_stale_peer_only) {
  start3();
  const fake_record newest = value("new", 200, 4);
  local_has("k", newest);
  peer_has(1, "k", value("old", 100));
  peer_has(2, "k", newest);
  send(qget("k"));
  EXPECT_TRUE(one_read(take(), 1, errc::ok, "new"));
  ASSERT_EQ(peer_ctl[1]->got.size(), 1u) << "the stale peer was not repaired";
  EXPECT_TRUE(is_repair(peer_ctl[1]->got[0], "k", newest));
  EXPECT_EQ(peer_ctl[2]->got.size(), 0u) << "an up-to-date peer was sent a repair";
  EXPECT_EQ(local->got.size(), 0u) << "an up-to-date local replica was sent a repair";
  EXPECT_TRUE(handoff->hints.empty());
}

TEST_F(replication_reads_test, repair_sends_the_record_to_a_peer_that_has_none) {
  start3();
  const fake_record rec = value("v", 100);
  local_has("k", rec);
  peer_has(2, "k", rec); // peer 1 has no record
  send(qget("k"));
  EXPECT_TRUE(one_read(take(), 1, errc::ok, "v"));
  ASSERT_EQ(peer_ctl[1]->got.size(), 1u);
  EXPECT_TRUE(is_repair(peer_ctl[1]->got[0], "k", rec));
  EXPECT_EQ(peer_ctl[2]->got.size(), 0u);
  EXPECT_EQ(local->got.size(), 0u);
}

TEST_F(replication_reads_test, repair_sends_the_record_to_this_nodes_storage_when_local_is_stale) {
  start3();
  const fake_record newest = value("new", 200);
  local_has("k", value("old", 100));
  peer_has(1, "k", newest);
  peer_has(2, "k", newest);
  send(qget("k"));
  EXPECT_TRUE(one_read(take(), 1, errc::ok, "new"));
  ASSERT_EQ(local->got.size(), 1u) << "this node's stale replica was not repaired";
  EXPECT_TRUE(is_repair(local->got[0], "k", newest));
  EXPECT_EQ(peer_ctl[1]->got.size() + peer_ctl[2]->got.size(), 0u);
}

TEST_F(replication_reads_test, repair_carries_a_newest_tombstone) {
  start3();
  const fake_record gone = tombstone(300);
  local_has("k", value("old", 100)); // this node and peer 2 are stale
  peer_has(1, "k", gone);
  send(qget("k"));
  EXPECT_TRUE(one_read(take(), 1, errc::not_found));
  ASSERT_EQ(local->got.size(), 1u);
  EXPECT_TRUE(is_repair(local->got[0], "k", gone));
  ASSERT_EQ(peer_ctl[2]->got.size(), 1u) << "a replica without a record gets the tombstone too";
  EXPECT_TRUE(is_repair(peer_ctl[2]->got[0], "k", gone));
  EXPECT_EQ(peer_ctl[1]->got.size(), 0u);
}

TEST_F(replication_reads_test, nothing_is_repaired_when_every_replica_is_up_to_date) {
  start3();
  const fake_record rec = value("v", 100);
  local_has("k", rec);
  peer_has(1, "k", rec);
  peer_has(2, "k", rec);
  send(qget("k"));
  EXPECT_TRUE(one_read(take(), 1, errc::ok, "v"));
  EXPECT_EQ(requests_sent(), 0u);
}

TEST_F(replication_reads_test, repair_waits_for_every_asked_replica_then_repairs_the_stale_ones) {
  start3();
  const fake_record newest = value("new", 200);
  local_has("k", value("old", 100));
  peer_has(1, "k", newest);
  peer_has(2, "k", value("older", 50));
  peer_ctl[2]->rm = replica_ctl::read_mode::hold;
  send(qget("k"));
  EXPECT_TRUE(one_read(take(), 1, errc::ok, "new"));
  EXPECT_EQ(requests_sent(), 0u) << "repaired before every asked replica answered";
  release_reads(2);
  ASSERT_EQ(local->got.size(), 1u);
  EXPECT_TRUE(is_repair(local->got[0], "k", newest));
  ASSERT_EQ(peer_ctl[2]->got.size(), 1u);
  EXPECT_TRUE(is_repair(peer_ctl[2]->got[0], "k", newest));
  EXPECT_EQ(peer_ctl[1]->got.size(), 0u);
  EXPECT_TRUE(take().empty()) << "the read was answered once";
}

TEST_F(replication_reads_test, a_replica_whose_read_timed_out_is_not_repaired_the_others_are) {
  start3();
  const fake_record newest = value("new", 200);
  local_has("k", value("old", 100));
  peer_has(1, "k", newest);
  peer_ctl[2]->rm = replica_ctl::read_mode::hold;
  send(qget("k"));
  EXPECT_TRUE(one_read(take(), 1, errc::ok, "new"));
  EXPECT_EQ(local->got.size(), 0u);
  advance(config.timeout);
  ASSERT_EQ(local->got.size(), 1u) << "the stale local replica is repaired once the last "
                                      "asked replica failed";
  EXPECT_TRUE(is_repair(local->got[0], "k", newest));
  EXPECT_EQ(peer_ctl[2]->got.size(), 0u) << "nothing is known about the silent peer";
}

// -- forwarded reads (5 members, rf 3, a key this node does not hold) --------------------------

TEST_F(replication_reads_test, forwarded_read_asks_only_the_keys_replicas_and_two_answers_resolve) {
  start(5, 3);
  all_up();
  const std::string key = find_key("elsewhere-", false);
  const auto reps = replicas_of(key);
  ASSERT_EQ(reps.size(), 3u);
  ASSERT_EQ(std::count(reps.begin(), reps.end(), 0u), 0) << "this node holds " << key;
  // One replica silent, one answers: not yet a read quorum (it could be the replica that
  // has not applied this client's acknowledged write). The third answers: resolved.
  peer_ctl[reps[0]]->rm = replica_ctl::read_mode::hold;
  peer_ctl[reps[1]]->rm = replica_ctl::read_mode::hold;
  peer_has(reps[2], key, value("far", 100));
  send(read_batch(0, 1, {{key, false}}));
  EXPECT_TRUE(take().empty()) << "one answer resolved a forwarded read";
  const std::set<std::size_t> rep_set(reps.begin(), reps.end());
  for (std::size_t m = 1; m < 5; ++m)
    EXPECT_EQ(peer_ctl[m]->reads_of(key), rep_set.count(m)) << "member " << m;
  EXPECT_EQ(requests_sent(), 0u);
  release_reads(reps[0]); // answers: no record
  EXPECT_TRUE(one_read(take(), 1, errc::ok, "far"));
  // The last one answers later (no record either): both are repaired, the answer stands.
  release_reads(reps[1]);
  EXPECT_TRUE(take().empty());
  for (std::size_t r : {reps[0], reps[1]}) {
    ASSERT_EQ(peer_ctl[r]->got.size(), 1u) << "member " << r;
    EXPECT_TRUE(is_repair(peer_ctl[r]->got[0], key, value("far", 100)));
  }
  EXPECT_EQ(local->got.size(), 0u) << "this node is not a replica of " << key;
}

TEST_F(replication_reads_test, forwarded_quorum_read_needs_two_of_the_keys_remote_replicas) {
  start(5, 3);
  all_up();
  const std::string key = find_key("elsewhere-", false);
  const auto reps = replicas_of(key);
  for (std::size_t r : reps)
    peer_ctl[r]->rm = replica_ctl::read_mode::hold;
  peer_has(reps[0], key, value("old", 100));
  peer_has(reps[1], key, value("new", 200));
  send(read_batch(0, 1, {{key, true}}));
  release_reads(reps[0]);
  EXPECT_TRUE(take().empty()) << "one answer is not a read quorum";
  release_reads(reps[1]);
  EXPECT_TRUE(one_read(take(), 1, errc::ok, "new"));
}

TEST_F(replication_reads_test, five_members_quorum_read_of_a_held_key_reads_local_and_two_peers) {
  start(5, 3);
  all_up();
  const std::string key = find_key("here-", true);
  const auto reps = replicas_of(key);
  local_has(key, value("local", 100));
  for (std::size_t r : reps)
    if (r != 0) peer_has(r, key, value("peer", 200));
  send(read_batch(0, 1, {{key, true}}));
  EXPECT_TRUE(one_read(take(), 1, errc::ok, "peer"));
  std::size_t asked = 0;
  for (std::size_t m = 1; m < 5; ++m)
    asked += peer_ctl[m]->reads_of(key);
  EXPECT_EQ(asked, 2u) << "only the key's two other replicas are asked";
  ASSERT_EQ(local->got.size(), 1u);
  EXPECT_TRUE(is_repair(local->got[0], key, value("peer", 200)));
}

// -- batches mixing writes and reads ---------------------------------------------------------

TEST_F(replication_reads_test, a_mixed_batch_waits_for_its_reads_after_its_writes_are_acked) {
  start3();
  peer_ctl[1]->rm = replica_ctl::read_mode::hold;
  peer_ctl[2]->rm = replica_ctl::read_mode::hold;
  local_has("r", value("read-me", 100));
  send(write_then_read("w", "written", "r"));
  ASSERT_EQ(local->got.size(), 1u);
  ASSERT_EQ(peer_ctl[1]->got.size(), 1u) << "the write went out";
  EXPECT_TRUE(take().empty()) << "answered before its read was resolved";
  release_reads(1);
  auto got = take();
  EXPECT_TRUE(one_read(got, 1, errc::ok, "read-me"));
  EXPECT_EQ(counters.batches_ok.load(), 1u);
}

TEST_F(replication_reads_test, a_mixed_batch_waits_for_its_writes_after_its_reads_resolved) {
  start3();
  local->m = replica_ctl::mode::hold;
  peer_ctl[1]->m = replica_ctl::mode::hold;
  peer_ctl[2]->m = replica_ctl::mode::hold;
  peer_has(1, "r", value("read-me", 100));
  send(write_then_read("w", "written", "r"));
  EXPECT_TRUE(take().empty()) << "answered before its write reached the write quorum";
  release_peer(1);
  EXPECT_TRUE(take().empty()) << "one ack is not a write quorum";
  release_local();
  EXPECT_TRUE(one_read(take(), 1, errc::ok, "read-me"));
}

TEST_F(replication_reads_test, a_read_batch_is_posted_in_ticket_order_with_later_write_batches) {
  start3();
  peer_ctl[1]->rm = replica_ctl::read_mode::hold;
  peer_ctl[2]->rm = replica_ctl::read_mode::hold;
  local_has("r", value("read-me", 100));
  send(qget("r", 1));
  send(one_write(0, 2, "w"));          // acked at once
  send(one_write(1, 1, "other-lane")); // another I/O thread is not held up
  EXPECT_TRUE(take(0).empty()) << "ticket 2 overtook the read of ticket 1";
  auto lane1 = take(1);
  ASSERT_EQ(lane1.size(), 1u) << show(lane1);
  EXPECT_EQ(lane1[0].result, errc::ok);
  release_reads(2);
  auto got = take(0);
  ASSERT_EQ(got.size(), 2u) << show(got);
  EXPECT_EQ(got[0].ticket, 1u);
  EXPECT_EQ(got[0].result, errc::ok);
  ASSERT_EQ(got[0].reads.size(), 1u);
  EXPECT_EQ(got[0].reads[0].value, "read-me");
  EXPECT_EQ(got[1].ticket, 2u);
  EXPECT_EQ(got[1].result, errc::ok);
  EXPECT_TRUE(got[1].reads.empty());
}

TEST_F(replication_reads_test, a_mixed_batch_whose_writes_lack_a_quorum_fails_as_a_whole) {
  // 5 members: the write's key has two replicas down, the read's key all three up (the
  // quorum read of a key this node holds together with two up peers). The batch is
  // refused up front (nothing written), and its read is never started: the completion
  // carries no read results, so the I/O thread answers the read with the batch's error
  // (no_quorum) although the read alone could have been served.
  start(5, 3);
  all_up();
  const std::string wkey = find_key("w-", false);
  const auto wreps = replicas_of(wkey);
  const std::string rkey = find_key_avoiding("r-", {wreps[0], wreps[1]});
  down(wreps[0]);
  down(wreps[1]);
  send(write_then_read(wkey, "x", rkey));
  auto got = take();
  ASSERT_EQ(got.size(), 1u) << show(got);
  EXPECT_EQ(got[0].result, errc::no_quorum);
  EXPECT_TRUE(got[0].reads.empty());
  std::size_t reads = 0;
  for (std::size_t m = 1; m < 5; ++m)
    reads += peer_ctl[m]->reads.size();
  EXPECT_EQ(reads, 0u);
  EXPECT_EQ(requests_sent(), 0u);
}

TEST_F(replication_reads_test, a_mixed_batch_whose_write_times_out_reports_timeout) {
  start3();
  peer_ctl[1]->m = replica_ctl::mode::hold;
  peer_ctl[2]->m = replica_ctl::mode::hold;
  peer_has(1, "r", value("read-me", 100));
  send(write_then_read("w", "written", "r"));
  EXPECT_TRUE(take().empty());
  advance(config.timeout);
  auto got = take();
  ASSERT_EQ(got.size(), 1u) << show(got);
  EXPECT_EQ(got[0].result, errc::timeout);
  EXPECT_TRUE(got[0].reads.empty()) << "a failed batch carries no read results";
}

// -- order of read results -------------------------------------------------------------------

TEST_F(replication_reads_test, read_results_follow_the_batchs_read_order_not_answer_order) {
  start3();
  // k0 resolves last: peer 2's answer for it is not a record, so it waits for peer 1,
  // which holds its answer; k1..k3 resolve on this node's and peer 2's answers at once.
  local_has("k0", value("zero-old", 100));
  peer_has(1, "k0", value("zero", 200));
  peer_ctl[2]->garbage_keys = {"k0"};
  local_has("k2", value("two", 100));
  peer_has(2, "k2", value("two", 100));
  local_has("k3", value("three", 100));
  peer_has(2, "k3", tombstone(200));
  peer_ctl[1]->rm = replica_ctl::read_mode::hold;
  // Between the reads, a write (the reads' indices count reads only).
  client_batch b = read_batch(0, 1, {{"k0", true}, {"k1", true}});
  pack_write(b, false, "w", "written");
  pack_read(b, "k2", true);
  pack_read(b, "k3", true);
  send(b);
  EXPECT_TRUE(take().empty()) << "answered before k0 was resolved";
  release_reads(1);
  auto got = take();
  ASSERT_EQ(got.size(), 1u) << show(got);
  ASSERT_EQ(got[0].result, errc::ok);
  ASSERT_EQ(got[0].reads.size(), 4u) << show(got);
  EXPECT_EQ(got[0].reads[0].status, errc::ok);
  EXPECT_EQ(got[0].reads[0].value, "zero");
  EXPECT_EQ(got[0].reads[1].status, errc::not_found);
  EXPECT_EQ(got[0].reads[2].status, errc::ok);
  EXPECT_EQ(got[0].reads[2].value, "two");
  EXPECT_EQ(got[0].reads[3].status, errc::not_found);
}

TEST_F(replication_reads_test, a_batchs_reads_ask_each_peer_once_for_all_its_keys) {
  start3();
  peer_has(1, "b0", value("zero", 100));
  local_has("b1", value("one", 100));
  peer_has(1, "b1", value("one-newer", 200)); // peer 1 answers before peer 2
  send(read_batch(0, 1, {{"b0", true}, {"b1", true}, {"b2", true}, {"b0", true}}));
  auto got = take();
  EXPECT_EQ(read_outcomes(got),
            (std::vector<std::string>{"zero", "one-newer", not_found_text, "zero"}))
      << show(got);
  for (std::size_t m : {1, 2}) {
    EXPECT_EQ(peer_ctl[m]->read_requests, 1u) << "peer " << m;
    EXPECT_EQ(peer_ctl[m]->reads, (std::vector<std::string>{"b0", "b1", "b2", "b0"}))
        << "peer " << m;
  }
}

TEST_F(replication_reads_test,
       a_peer_answer_that_stops_short_is_followed_by_a_request_for_the_rest) {
  start3();
  peer_has(1, "s0", value("zero", 200));
  peer_has(1, "s2", value("two", 200));
  local_has("s2", value("two-old", 100));
  peer_ctl[1]->reply_keys_max = 1; // as if each record filled the reply's byte bound
  peer_ctl[2]->rm = replica_ctl::read_mode::hold;
  send(read_batch(0, 1, {{"s0", true}, {"s1", true}, {"s2", true}}));
  auto got = take();
  EXPECT_EQ(read_outcomes(got), (std::vector<std::string>{"zero", not_found_text, "two"}))
      << show(got);
  EXPECT_EQ(peer_ctl[1]->read_requests, 3u);
  EXPECT_EQ(peer_ctl[1]->reads, (std::vector<std::string>{"s0", "s1", "s2", "s1", "s2", "s2"}));
}

TEST_F(replication_reads_test, a_non_record_fails_only_its_read_a_failed_request_every_read_in_it) {
  start3();
  local_has("x0", value("zero", 100));
  local_has("x1", value("one", 100));
  // Peer 1 answers garbage for x1 only: that answer is still one op per key, in order,
  // so only x1's counts as failed; peer 2 fails the whole request.
  peer_has(1, "x0", value("zero", 100));
  peer_ctl[1]->garbage_keys = {"x1"};
  peer_ctl[2]->rm = replica_ctl::read_mode::fail;
  send(read_batch(0, 1, {{"x0", true}, {"x1", true}}));
  auto got = take();
  ASSERT_EQ(got.size(), 1u) << show(got);
  ASSERT_EQ(got[0].reads.size(), 2u) << show(got);
  EXPECT_EQ(got[0].reads[0].status, errc::ok);
  EXPECT_EQ(got[0].reads[0].value, "zero");
  EXPECT_EQ(got[0].reads[1].status, errc::no_quorum) << show(got);
}

TEST_F(replication_reads_test, reads_of_one_key_twice_in_a_batch_each_get_a_result) {
  start3();
  local_has("k", value("v", 100));
  peer_has(1, "k", value("v", 100));
  peer_ctl[2]->rm = replica_ctl::read_mode::hold;
  send(read_batch(0, 1, {{"k", true}, {"k", true}, {"nope", true}}));
  auto got = take();
  EXPECT_EQ(read_outcomes(got), (std::vector<std::string>{"v", "v", not_found_text})) << show(got);
}

// -- the cluster clock ------------------------------------------------------------------------

TEST_F(replication_reads_test, a_version_seen_in_a_read_pushes_the_clock_so_a_later_write_wins) {
  // A key this node does not hold was last written by a node whose clock runs ahead (here
  // an hour). A client reads it through this node, then overwrites it through this node:
  // the write must get a higher version, or it is acknowledged and then loses to the
  // older record on every replica (last writer wins). The HLC is pushed past every
  // version the node has seen (README, "Writes"), read answers included.
  start(5, 3);
  all_up();
  const std::string key = find_key("ahead-", false);
  const auto reps = replicas_of(key);
  const version future{(storage::wall_ms() + 3'600'000) << 16, 3};
  for (std::size_t r : reps)
    peer_has(r, key, fake_record{false, "from-the-future", future});
  send(read_batch(0, 1, {{key, false}}));
  EXPECT_TRUE(one_read(take(), 1, errc::ok, "from-the-future"));
  send(make_client_batch(0, 2, {{false, key, "read-then-written"}}));
  auto got = take();
  ASSERT_EQ(got.size(), 1u) << show(got);
  EXPECT_EQ(got[0].result, errc::ok);
  ASSERT_FALSE(peer_ctl[reps[0]]->got.empty());
  auto ops = decode(peer_ctl[reps[0]]->got.back());
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].value, "read-then-written");
  EXPECT_GT(ops[0].ver.hlc, future.hlc)
      << "a write after a read of its key got an older version than the one read: it loses";
}

// -- stop ------------------------------------------------------------------------------------

TEST_F(replication_reads_test, stop_answers_a_pending_read_shutting_down) {
  start3();
  peer_ctl[1]->rm = replica_ctl::read_mode::hold;
  peer_ctl[2]->rm = replica_ctl::read_mode::hold;
  expect_stop_answers(qget("k"));
}

} // namespace
} // namespace minivault
