#pragma once
// Fakes and a fixture for testing the replication actor
// (actors/cluster/replication/replication_actor.hpp) on CAF's deterministic test coordinator: a
// typed storage actor and typed peer endpoints that ack, fail or hold their answer until the test
// releases it, a typed handoff actor that records hints, and (for reads) peers that answer
// read_atom with a configurable record per key, fail, answer garbage, or hold the answer. This
// node's own replica is a real engine (test::temp_store): the replication actor reads it directly.
//
// Used by replication_actor_test.cpp (writes) and replication_reads_test.cpp (reads).
// No threads, no sleeps, no network: time moves only when a test advances the
// coordinator's clock.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "actors/cluster/repair/handoff_actor.hpp"
#include "actors/cluster/replication/replication_actor.hpp"
#include "storage/partition.hpp"
#include "storage/table.hpp"
#include "tests/support/caf_test_system.hpp"
#include "tests/support/temp_store.hpp"

namespace minivault::test {

// -- fakes --------------------------------------------------------------------------------

/// A record a fake replica holds for a key (what read_atom answers with).
struct fake_record {
  bool del = false; // a tombstone
  std::string value;
  storage::version ver;
};

/// What a fake replica does with replicate and read requests, and what it received.
struct replica_ctl {
  // -- replicate_atom
  enum class mode { ack, fail, hold };
  mode m = mode::ack;
  errc fail_outcome = errc::io_error;
  std::vector<versioned_writes> got;
  std::vector<caf::typed_response_promise<replica_ack>> held;
  /// Answered with ok replicate requests: the newer version this replica claims to keep
  /// instead of an op of the batch (0: every op took effect).
  std::uint64_t newer_hlc = 0;
  // -- ship_atom (this fake as another region's relay): the same modes; an ok says
  // `relay_acks` replicas of its region hold the writes (replicas ignore the field).
  std::vector<ship_batch> shipped;
  std::uint8_t relay_acks = 2;

  // -- read_atom
  enum class read_mode {
    answer,  // the record of `records` (an empty batch when there is none)
    fail,    // an error
    garbage, // a batch that is not a versioned record (an unversioned write)
    hold,    // no answer until the test releases it (or the asker times out)
  };
  read_mode rm = read_mode::answer;
  std::map<std::string, fake_record> records;
  std::set<std::string> hold_keys;    // a request asking one of them is held whatever `rm` says
  std::set<std::string> garbage_keys; // answered as `garbage` whatever `rm` says
  std::vector<std::string> reads;     // every key asked, in order
  std::size_t read_requests = 0;      // batched read requests received
  std::size_t reply_keys_max = 1000;  // an answer stops after this many keys (the byte bound)
  std::vector<std::pair<std::vector<std::string>, caf::typed_response_promise<read_reply>>>
      held_reads;

  caf::result<replica_ack> on_replicate(caf::local_actor* self, versioned_writes& b) {
    got.push_back(b);
    return answer(self);
  }
  caf::result<replica_ack> on_ship(caf::local_actor* self, const ship_batch& b) {
    shipped.push_back(b);
    return answer(self);
  }
  /// The answer `m` says (held: a promise answer_held delivers).
  caf::result<replica_ack> answer(caf::local_actor* self) {
    switch (m) {
    case mode::ack:
      return replica_ack{errc::ok, newer_hlc, 1, relay_acks};
    case mode::fail:
      return replica_ack{fail_outcome, 0};
    case mode::hold:
      break;
    }
    auto rp = self->make_response_promise<replica_ack>();
    held.push_back(rp);
    return rp;
  }
  /// Answers every held request with `outcome`. Only from within the fake actor:
  /// a promise delivered from outside an actor's run crashes the test coordinator.
  void answer_held(errc outcome) {
    auto hs = std::move(held);
    held.clear();
    for (auto& p : hs)
      p.deliver(
          replica_ack{outcome, outcome == errc::ok ? newer_hlc : std::uint64_t{0}, 1, relay_acks});
  }

  /// The answer to a read of `keys` right now: per key its record or the "none" mark,
  /// and an unversioned write (not a record) for keys answered as garbage.
  read_reply records_of(const std::vector<std::string>& keys) const {
    client_batch out; // packs every kind of op
    for (const auto& key : keys) {
      auto it = records.find(key);
      if (rm == read_mode::garbage || garbage_keys.count(key) != 0)
        pack_write(out, false, key, "unversioned");
      else if (it != records.end())
        pack_versioned_write(out, it->second.del, key, it->second.value, it->second.ver);
      else
        pack_read(out.ops, out.count, key);
    }
    return read_reply{out.count, std::move(out.ops)};
  }

  caf::result<read_reply> on_read(caf::local_actor* self, std::uint32_t count,
                                  const std::string& packed) {
    ++read_requests;
    std::vector<std::string> keys;
    std::size_t pos = 0;
    packed_op op;
    for (std::uint32_t i = 0; i < count && decode_packed_op(packed, pos, op); ++i)
      keys.emplace_back(op.key);
    EXPECT_EQ(keys.size(), count) << "malformed read keys";
    reads.insert(reads.end(), keys.begin(), keys.end());
    bool hold = rm == read_mode::hold;
    for (const auto& k : keys)
      hold = hold || hold_keys.count(k) != 0;
    if (hold) {
      auto rp = self->make_response_promise<read_reply>();
      held_reads.emplace_back(std::move(keys), rp);
      return rp;
    }
    if (rm == read_mode::fail) return caf::make_error(caf::sec::runtime_error);
    if (keys.size() > reply_keys_max) keys.resize(reply_keys_max);
    return records_of(keys);
  }
  /// Answers every held read with the records held now (same rule as answer_held).
  void answer_held_reads() {
    auto hs = std::move(held_reads);
    held_reads.clear();
    for (auto& [keys, p] : hs)
      p.deliver(records_of(keys));
  }
  /// How often `key` was asked.
  [[nodiscard]] std::size_t reads_of(const std::string& key) const {
    return static_cast<std::size_t>(std::count(reads.begin(), reads.end(), key));
  }
};

/// The fakes: the full typed interface, plus (flush_atom, outcome) from the test to answer
/// the held replicate requests with that errc (as u8), and (read_atom, flush_atom) to answer
/// held reads.
using fake_storage_actor = storage_actor::extend<caf::reacts_to<flush_atom, std::uint8_t>>;
using fake_peer_actor = peer_endpoint_actor::extend<caf::reacts_to<flush_atom, std::uint8_t>,
                                                    caf::reacts_to<read_atom, flush_atom>>;

inline fake_storage_actor::behavior_type fake_storage(fake_storage_actor::pointer self,
                                                      std::shared_ptr<replica_ctl> ctl) {
  return {
      [ctl](flush_atom, std::uint8_t rc) { ctl->answer_held(static_cast<errc>(rc)); },
      [](client_batch&) { ADD_FAILURE() << "client batch sent to the storage actor directly"; },
      [self, ctl](replicate_atom, versioned_writes& b) -> caf::result<replica_ack> {
        return ctl->on_replicate(self, b);
      },
      [](outbox_atom, const shipper_actor&) {},
      [](flush_atom) {},
      [](tick_atom) {},
      [](compact_atom) {},
      [self](stop_atom) {
        self->quit();
        return true;
      },
  };
}

inline fake_peer_actor::behavior_type fake_peer(fake_peer_actor::pointer self,
                                                std::shared_ptr<replica_ctl> ctl) {
  return {
      [ctl](flush_atom, std::uint8_t rc) { ctl->answer_held(static_cast<errc>(rc)); },
      [ctl](read_atom, flush_atom) { ctl->answer_held_reads(); },
      [](challenge_atom, const std::string&) {
        return caf::result<std::string, std::string, std::string>("", "", "");
      },
      [](peer_auth_atom, const std::string&, const std::string&, const std::string&) {
        return true;
      },
      [](ping_atom, const std::string&) { return caf::result<std::string, std::string>("", ""); },
      [self, ctl](replicate_atom, versioned_writes& b) -> caf::result<replica_ack> {
        return ctl->on_replicate(self, b);
      },
      [](digest_atom) { return std::string(); },
      [](pull_atom, std::uint32_t, const std::string&) { return pull_reply{}; },
      [](pull_atom, const std::string&, const std::string&) { return pull_reply{}; },
      [self, ctl](read_atom, std::uint32_t count, const std::string& keys)
          -> caf::result<read_reply> { return ctl->on_read(self, count, keys); },
      [](keys_atom, const std::string&) { return std::string(); },
      [](hello_atom, const std::string&, const caf::strong_actor_ptr&) {},
      [self, ctl](ship_atom, const ship_batch& b) -> caf::result<replica_ack> {
        return ctl->on_ship(self, b);
      },
      [](shipped_atom, const std::string&, const std::string&) {},
  };
}

struct handoff_ctl {
  std::vector<std::pair<peer_id, versioned_writes>> hints;
};

inline handoff_actor::behavior_type fake_handoff(handoff_actor::pointer self,
                                                 std::shared_ptr<handoff_ctl> ctl) {
  return {
      [ctl](hint_atom, peer_id peer, versioned_writes& b) {
        ctl->hints.emplace_back(peer, std::move(b));
      },
      [](peer_up_atom, peer_id, const caf::strong_actor_ptr&) {},
      [](peer_down_atom, peer_id) {},
      [](tick_atom) {},
      [self](stop_atom) {
        self->quit();
        return true;
      },
  };
}

// -- helpers ------------------------------------------------------------------------------

struct op_spec {
  bool del;
  std::string key;
  std::string value;
};

inline client_batch make_client_batch(std::uint32_t origin, std::uint64_t ticket,
                                      const std::vector<op_spec>& ops) {
  client_batch b;
  b.origin = origin;
  b.ticket = ticket;
  for (auto& o : ops)
    pack_write(b, o.del, o.key, o.value);
  return b;
}

inline client_batch one_write(std::uint32_t origin, std::uint64_t ticket,
                              const std::string& key = "k") {
  return make_client_batch(origin, ticket, {{false, key, "value of " + key}});
}

struct decoded {
  bool del;
  std::string key, value;
  storage::version ver;
};

inline std::vector<decoded> decode(const versioned_writes& b) {
  std::vector<decoded> out;
  std::size_t pos = 0;
  packed_op op;
  for (std::uint32_t i = 0; i < b.count; ++i) {
    if (!decode_packed_op(b.ops, pos, op)) {
      ADD_FAILURE() << "replica got a malformed batch";
      return out;
    }
    out.push_back({op.del, std::string(op.key), std::string(op.value), op.ver});
  }
  EXPECT_EQ(pos, b.ops.size());
  return out;
}

inline std::string show(const std::vector<completion>& cs) {
  std::string s;
  for (auto& c : cs) {
    s += "(" + std::to_string(c.ticket) + ": " + std::string(to_string(c.result));
    for (auto& r : c.reads)
      s += " [" + std::string(to_string(r.status)) + " \"" + r.value + "\"]";
    s += ") ";
  }
  return s;
}

/// `got` is exactly one completion, with result `rc`.
inline ::testing::AssertionResult one_outcome(const std::vector<completion>& got, errc rc) {
  if (got.size() != 1) return ::testing::AssertionFailure() << "completions: " << show(got);
  if (got[0].result != rc)
    return ::testing::AssertionFailure()
           << "completion: " << show(got) << ", expected " << to_string(rc);
  return ::testing::AssertionSuccess();
}

// -- fixture ------------------------------------------------------------------------------

/// This node is member 0 (its storage actor; its reads come from `store.engine`), peers
/// are members 1..n-1. Peer indices (node_options::peers) are deliberately not member
/// indices: peer i is member n-1-i, and the last peer entry is this node itself (-1).
class replication_fixture : public ::testing::Test {
protected:
  static constexpr std::uint32_t node_id = 7;

  test::temp_store store{"minivault-repl"};
  completion_board board{2};
  test::caf_test_system ts;
  caf::scheduler::test_coordinator* sched = ts.sched;
  cluster_clock clock{node_id, 0};
  replication_counters counters;
  handoff_counters hint_counters;
  replication_config config;
  std::shared_ptr<placement> place;
  std::vector<std::string> names;

  std::shared_ptr<replica_ctl> local = std::make_shared<replica_ctl>();
  std::vector<std::shared_ptr<replica_ctl>> peer_ctl; // by member index (0 unused)
  std::shared_ptr<handoff_ctl> handoff = std::make_shared<handoff_ctl>();

  fake_storage_actor storage;
  std::vector<fake_peer_actor> peers; // by member index (0 unused)
  handoff_actor handoff_actor_;
  replication_actor repl;

  void SetUp() override {
    ASSERT_NE(sched, nullptr);
    ASSERT_TRUE(store.engine);
    config.timeout = std::chrono::milliseconds(1000);
  }

  /// The CLUSTER_NODES entry of `member`: start() lists the peers in reverse, then this
  /// node, so the two numberings differ.
  peer_id peer_of(std::size_t member) const {
    return peer_id{static_cast<std::uint32_t>(names.size() - 1 - member)};
  }

  /// Spawns everything for a cluster of `members` with replication factor `rf`; with
  /// `regions`, member m is in region regions[m] (else all in one region).
  void start(std::size_t members, std::size_t rf = 3, std::vector<std::string> regions = {}) {
    for (std::size_t m = 0; m < members; ++m)
      names.push_back("http://node" + std::to_string(m) + ":8080");
    if (regions.empty()) {
      place = std::make_shared<placement>(names, rf);
    } else {
      std::vector<placement::member> ms;
      for (std::size_t m = 0; m < members; ++m)
        ms.push_back({names[m], regions[m]});
      place = std::make_shared<placement>(std::move(ms), rf);
    }
    config.members = peer_map{};
    for (std::size_t i = 0; i + 1 < members; ++i)
      config.members.add(member_id{static_cast<std::uint32_t>(members - 1 - i)});
    config.members.add(std::nullopt); // this node, listed among its peers
    storage = ts.sys->spawn(fake_storage, local);
    handoff_actor_ = ts.sys->spawn(fake_handoff, handoff);
    peer_ctl.resize(members);
    peers.resize(members);
    for (std::size_t m = 1; m < members; ++m) {
      peer_ctl[m] = std::make_shared<replica_ctl>();
      peers[m] = ts.sys->spawn(fake_peer, peer_ctl[m]);
    }
    replication_services services;
    services.place = std::shared_ptr<const placement>(place);
    services.clock = &clock;
    services.engine = store.engine.get();
    services.storage = storage_actor{storage};
    services.handoff = handoff_actor_;
    services.board = &board;
    services.counters = &counters;
    services.hints = &hint_counters;
    repl = ts.sys->spawn(replication_actor_impl, config, std::move(services));
    sched->run();
  }

  /// Three members, every peer up: this node (0) and peers 1 and 2 hold every key.
  void start3() {
    start(3);
    all_up();
  }

  void up(std::size_t member) {
    caf::anon_send(repl, peer_up_atom_v, peer_of(member),
                   caf::actor_cast<caf::strong_actor_ptr>(peers[member]));
    sched->run();
  }
  void down(std::size_t member) {
    caf::anon_send(repl, peer_down_atom_v, peer_of(member));
    sched->run();
  }
  void all_up() {
    for (std::size_t m = 1; m < peers.size(); ++m)
      up(m);
  }

  void send(client_batch b) {
    caf::anon_send(repl, std::move(b));
    sched->run();
  }

  std::vector<completion> take(std::uint32_t lane = 0) {
    std::vector<completion> out;
    board.take(lane, out);
    return out;
  }

  /// Advances the coordinator's clock and delivers what that triggered.
  void advance(caf::timespan d) {
    sched->advance_time(d);
    sched->run();
  }

  /// The local store / peer `m` answers its held requests with `outcome`.
  void release_local(errc outcome = errc::ok) {
    caf::anon_send(storage, flush_atom_v, static_cast<std::uint8_t>(outcome));
    sched->run();
  }
  void release_peer(std::size_t m, errc outcome = errc::ok) {
    caf::anon_send(peers[m], flush_atom_v, static_cast<std::uint8_t>(outcome));
    sched->run();
  }
  /// Peer `m` answers its held reads (with the records it holds now).
  void release_reads(std::size_t m) {
    caf::anon_send(peers[m], read_atom_v, flush_atom_v);
    sched->run();
  }

  /// Asks the replication actor to stop, as a client actor would (request + reply), and
  /// runs the coordinator; whether it answered true. The actor is gone afterwards (`repl`
  /// is cleared, so TearDown does not stop it again).
  bool stop_replication() {
    bool replied = false;
    // (An argument, so CAF's spawn does not dereference an empty argument tuple: UBSan.)
    auto client = ts.sys->spawn(
        [&](caf::event_based_actor* self, replication_actor target) {
          self->request(target, std::chrono::seconds(1), stop_atom_v)
              .then([&](bool ok) { replied = ok; }, [](caf::error&) {});
        },
        repl);
    sched->run();
    repl = nullptr;
    return replied;
  }

  /// Stops the actor (stop_replication) while `pending` waits for its replicas: the stop
  /// is answered, and `pending` is posted once, shutting_down.
  void expect_stop_answers(client_batch pending) {
    send(std::move(pending));
    EXPECT_TRUE(stop_replication());
    ASSERT_TRUE(one_outcome(take(), errc::shutting_down));
  }

  std::size_t requests_sent() const {
    std::size_t n = local->got.size();
    for (std::size_t m = 1; m < peer_ctl.size(); ++m)
      n += peer_ctl[m]->got.size();
    return n;
  }

  // -- records ----------------------------------------------------------------------------

  /// Writes `key`'s record into this node's engine (the replica the actor reads directly),
  /// with the given version: as a replicated write would land.
  void local_has(const std::string& key, const fake_record& rec) {
    storage::write_op op{key, rec.value, rec.del, rec.ver};
    ASSERT_EQ(store.engine->apply(&op, 1), errc::ok);
  }
  void peer_has(std::size_t m, const std::string& key, const fake_record& rec) {
    peer_ctl.at(m)->records[key] = rec;
  }

  // -- placement --------------------------------------------------------------------------

  [[nodiscard]] std::vector<std::size_t> replicas_of(const std::string& key) const {
    const auto part = storage::partition_of(storage::table::hash_key(key));
    std::vector<std::size_t> out;
    for (std::size_t r = 0; r < place->replicas_per_partition(); ++r)
      out.push_back(place->replicas(part)[r].at());
    return out;
  }
  /// The first "<prefix><i>" this node holds (`held`) or does not hold.
  [[nodiscard]] std::string find_key(const std::string& prefix, bool held) const {
    for (int i = 0;; ++i) {
      std::string k = prefix + std::to_string(i);
      if (place->holds(self_member, storage::partition_of(storage::table::hash_key(k))) == held)
        return k;
    }
  }

  /// The first "<prefix><i>" none of whose replicas is one of `avoid`.
  [[nodiscard]] std::string find_key_avoiding(const std::string& prefix,
                                              const std::vector<std::size_t>& avoid) const {
    for (int i = 0;; ++i) {
      std::string k = prefix + std::to_string(i);
      const auto reps = replicas_of(k);
      if (std::none_of(reps.begin(), reps.end(), [&](std::size_t r) {
            return std::find(avoid.begin(), avoid.end(), r) != avoid.end();
          }))
        return k;
    }
  }

  void TearDown() override {
    local->held.clear();
    for (std::size_t m = 1; m < peer_ctl.size(); ++m) {
      peer_ctl[m]->held.clear();
      peer_ctl[m]->held_reads.clear();
    }
    if (repl) ts.stop(repl);
    for (std::size_t m = 1; m < peers.size(); ++m)
      if (peers[m]) ts.stop(peers[m]);
    if (storage) ts.stop(storage);
    if (handoff_actor_) ts.stop(handoff_actor_);
  }
};

} // namespace minivault::test
