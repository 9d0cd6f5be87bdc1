// Integration tests of the binary protocol (protocol/README.md §1) against the real
// `minivault` binary: every op with exact framing, pipelining, concurrency, auth and a
// clean restart.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "protocol/limits.hpp"
#include "tests/support/node_process.hpp"
#include "tests/support/test_client.hpp"

namespace minivault::test {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using json = nlohmann::json;

std::string random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::string out(n, '\0');
  for (auto& c : out)
    c = static_cast<char>(rng() & 0xFF);
  return out;
}

/// Every byte value, NULs and 0xFF included, several times over.
std::string all_byte_values(std::size_t rounds) {
  std::string out;
  for (std::size_t r = 0; r < rounds; ++r) {
    for (int b = 0; b < 256; ++b)
      out.push_back(static_cast<char>(b));
  }
  return out;
}

/// A string literal with its embedded NULs (and without the terminating one).
template <std::size_t N> std::string lit(const char (&s)[N]) {
  return std::string(s, N - 1);
}

/// Parses a HEALTH reply; nullopt (with a test failure) when it is not a JSON object.
std::optional<json> health_json(test_client& c, std::string_view key = {}) {
  auto r = c.health(key);
  EXPECT_TRUE(r.ok()) << "HEALTH reply " << r;
  if (!r.ok()) return std::nullopt;
  EXPECT_FALSE(r.payload.empty());
  EXPECT_EQ(r.payload.front(), '{') << "HEALTH payload " << printable(r.payload);
  auto j = json::parse(r.payload, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << "HEALTH payload is not valid JSON: "
                                 << printable(r.payload, 2000);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

class NodeProtocol : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_TRUE(node_.start()); }
  node_process node_;
};

TEST_F(NodeProtocol, SetThenGetReturnsIdenticalBinaryBytes) {
  test_client c(node_.port());
  ASSERT_TRUE(c.connected());
  const std::string key = lit("k\0\xFF\x01\x7F bin");
  const std::string value = lit("\0\0\xFF\xFF") + all_byte_values(4) + lit("\xFF\0");
  auto s = c.set(key, value);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(s.payload.empty()) << "SET success carries no payload: " << s;
  auto g = c.get(key);
  ASSERT_TRUE(g.ok()) << g;
  EXPECT_EQ(g.payload.size(), value.size());
  EXPECT_TRUE(g.payload == value) << "GET returned different bytes: " << printable(g.payload);
  // A key that differs only after an embedded NUL is a different key.
  EXPECT_TRUE(c.get(lit("k\0\xFF\x01\x7F bim")).is_error("not found"));
}

TEST_F(NodeProtocol, ExactReplyBytesForEveryOp) {
  test_client c(node_.port());
  ASSERT_TRUE(c.connected());
  // Frames written by hand, not by the codec, so the test checks the codec too.
  ASSERT_TRUE(c.send_raw(lit("\x02\x03\x00"
                             "abc"
                             "\x03\x00\x00\x00"
                             "\x00"
                             "xyz")));
  EXPECT_EQ(printable(c.read_exact(5)), printable(lit("\x00\x00\x00\x00\x00")));
  ASSERT_TRUE(c.send_raw(lit("\x01\x03\x00"
                             "abc")));
  EXPECT_EQ(printable(c.read_exact(8)), printable(lit("\x00\x03\x00\x00\x00"
                                                      "xyz")));
  ASSERT_TRUE(c.send_raw(lit("\x01\x04\x00"
                             "nope")));
  EXPECT_EQ(printable(c.read_exact(14)), printable(lit("\xFF\x09\x00\x00\x00"
                                                       "not found")));
  ASSERT_TRUE(c.send_raw(lit("\x03\x03\x00"
                             "abc")));
  EXPECT_EQ(printable(c.read_exact(5)), printable(lit("\x00\x00\x00\x00\x00")));
  ASSERT_TRUE(c.send_raw(lit("\x03\x03\x00"
                             "abc"))); // deleting again succeeds
  EXPECT_EQ(printable(c.read_exact(5)), printable(lit("\x00\x00\x00\x00\x00")));
  ASSERT_TRUE(c.send_raw(lit("\x01\x03\x00"
                             "abc")));
  EXPECT_EQ(printable(c.read_exact(14)), printable(lit("\xFF\x09\x00\x00\x00"
                                                       "not found")));
  // HEALTH with an empty key: [05][00 00]; its reply length field matches its payload.
  ASSERT_TRUE(c.send_raw(lit("\x05\x00\x00")));
  auto header = c.read_exact(5);
  ASSERT_EQ(header.size(), 5u);
  EXPECT_EQ(header[0], '\x00');
  auto len = wire::load_u32(header.data() + 1);
  ASSERT_GT(len, 0u);
  ASSERT_LT(len, 1u << 20);
  auto body = c.read_exact(len);
  ASSERT_EQ(body.size(), len);
  EXPECT_TRUE(json::accept(body)) << printable(body, 2000);
  // Nothing extra was sent: the stream is still in step.
  auto g = c.get("abc");
  EXPECT_TRUE(g.is_error("not found")) << g;
}

TEST_F(NodeProtocol, RequestSplitIntoSingleByteWrites) {
  test_client c(node_.port());
  ASSERT_TRUE(c.connected());
  std::string frame;
  wire::append_request(frame, wire::opcode::set, "split-key", lit("split\0value"));
  wire::append_request(frame, wire::opcode::get, "split-key");
  for (char b : frame) {
    ASSERT_TRUE(c.send_raw(std::string_view(&b, 1)));
    std::this_thread::sleep_for(1ms);
  }
  auto s = c.read_reply();
  EXPECT_TRUE(s.ok()) << s;
  auto g = c.read_reply();
  ASSERT_TRUE(g.ok()) << g;
  EXPECT_EQ(g.payload, lit("split\0value"));
}

TEST_F(NodeProtocol, OneByteKeyAndMaxLengthKeys) {
  test_client c(node_.port());
  ASSERT_TRUE(c.connected());
  auto s = c.set("x", "one-byte-key");
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(c.get("x").payload, "one-byte-key");

  std::mt19937_64 rng(7);
  std::string long_a = random_bytes(rng, key_bytes_max);
  std::string long_b = long_a;
  long_b.back() = static_cast<char>(long_b.back() ^ 0x5A); // differs in the last byte only
  ASSERT_EQ(long_a.size(), 65535u);
  s = c.set(long_a, "value-a");
  ASSERT_TRUE(s.ok()) << s;
  s = c.set(long_b, "value-b");
  ASSERT_TRUE(s.ok()) << s;
  auto ga = c.get(long_a);
  auto gb = c.get(long_b);
  ASSERT_TRUE(ga.ok()) << ga;
  ASSERT_TRUE(gb.ok()) << gb;
  EXPECT_EQ(ga.payload, "value-a");
  EXPECT_EQ(gb.payload, "value-b");
  // A prefix of a long key is another key.
  EXPECT_TRUE(c.get(long_a.substr(0, 65534)).is_error("not found"));
  auto d = c.del(long_a);
  EXPECT_TRUE(d.ok()) << d;
  EXPECT_TRUE(c.get(long_a).is_error("not found"));
  EXPECT_EQ(c.get(long_b).payload, "value-b");
}

TEST_F(NodeProtocol, OneMiBValues) {
  test_client c(node_.port());
  ASSERT_TRUE(c.connected());
  std::mt19937_64 rng(11);
  const std::string random_mib = random_bytes(rng, 1u << 20);
  std::string text_mib;
  while (text_mib.size() < (1u << 20))
    text_mib += "compressible line of text, again and again\n";
  text_mib.resize(1u << 20);
  const std::vector<const std::string*> values = {&random_mib, &text_mib};
  for (std::size_t i = 0; i < values.size(); ++i) {
    auto s = c.set("big/" + std::to_string(i), *values[i]);
    ASSERT_TRUE(s.ok()) << s;
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    auto g = c.get("big/" + std::to_string(i));
    ASSERT_TRUE(g.ok()) << g;
    EXPECT_EQ(g.payload.size(), values[i]->size());
    EXPECT_TRUE(g.payload == *values[i]) << "1 MiB value " << i << " came back different";
  }
}

TEST_F(NodeProtocol, EmptyValueIsAValue) {
  test_client c(node_.port());
  ASSERT_TRUE(c.connected());
  auto s = c.set("empty", "");
  ASSERT_TRUE(s.ok()) << s;
  auto g = c.get("empty");
  EXPECT_TRUE(g.ok()) << "an empty value is not a missing key: " << g;
  EXPECT_TRUE(g.payload.empty());
  ASSERT_TRUE(c.set("empty", "then full").ok());
  EXPECT_EQ(c.get("empty").payload, "then full");
  ASSERT_TRUE(c.set("empty", "").ok());
  g = c.get("empty");
  EXPECT_TRUE(g.ok()) << g;
  EXPECT_TRUE(g.payload.empty()) << g;
}

TEST_F(NodeProtocol, GetMissingKeyIsNotFound) {
  test_client c(node_.port());
  ASSERT_TRUE(c.connected());
  auto g = c.get("never-set");
  EXPECT_TRUE(g.io_ok);
  EXPECT_EQ(g.status, wire::status_error);
  EXPECT_EQ(g.payload, "not found");
  // The connection stays usable after a not-found.
  EXPECT_TRUE(c.set("after-miss", "v").ok());
}

TEST_F(NodeProtocol, DeleteThenGetIsNotFoundAndDeleteMissingSucceeds) {
  test_client c(node_.port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.set("doomed", "v1").ok());
  ASSERT_EQ(c.get("doomed").payload, "v1");
  auto d = c.del("doomed");
  EXPECT_TRUE(d.ok()) << d;
  EXPECT_TRUE(d.payload.empty()) << d;
  auto g = c.get("doomed");
  EXPECT_TRUE(g.is_error("not found")) << g;
  auto d2 = c.del("doomed");
  EXPECT_TRUE(d2.ok()) << "DELETE of a deleted key: " << d2;
  auto d3 = c.del("never-existed");
  EXPECT_TRUE(d3.ok()) << "DELETE of a missing key: " << d3;
  // A deleted key can be set again.
  ASSERT_TRUE(c.set("doomed", "v2").ok());
  EXPECT_EQ(c.get("doomed").payload, "v2");
}

TEST_F(NodeProtocol, HealthReturnsJsonWithEveryField) {
  test_client c(node_.port());
  ASSERT_TRUE(c.connected());
  auto raw = c.health();
  ASSERT_TRUE(raw.ok()) << raw;
  for (const char* field : {"\"status\"", "\"node_id\"", "\"region\"", "\"uptime_seconds\"",
                            "\"keys\"", "\"cache_items\"", "\"cache_size_mb\"",
                            "\"storage_size_mb\"", "\"memory_mb\"", "\"peers\""}) {
    EXPECT_NE(raw.payload.find(field), std::string::npos)
        << "HEALTH lacks " << field << ": " << printable(raw.payload, 2000);
  }
  auto j = health_json(c);
  ASSERT_TRUE(j.has_value());
  ASSERT_TRUE(j->contains("status") && (*j)["status"].is_string());
  // One node without peers: nobody is down and writes succeed.
  EXPECT_EQ((*j)["status"], "healthy") << j->dump();
  EXPECT_TRUE((*j)["node_id"].is_string()) << j->dump();
  EXPECT_FALSE((*j)["node_id"].get<std::string>().empty());
  EXPECT_TRUE((*j)["region"].is_string()) << j->dump();
  for (const char* number :
       {"uptime_seconds", "keys", "cache_items", "cache_size_mb", "storage_size_mb", "memory_mb"}) {
    ASSERT_TRUE(j->contains(number)) << number;
    EXPECT_TRUE((*j)[number].is_number()) << number << " in " << j->dump();
    if ((*j)[number].is_number()) {
      EXPECT_GE((*j)[number].get<double>(), 0.0) << number;
    }
  }
  EXPECT_TRUE((*j)["peers"].is_array()) << j->dump();
  EXPECT_TRUE((*j)["peers"].empty()) << "a node without CLUSTER_NODES has no peers: " << j->dump();
}

TEST_F(NodeProtocol, HealthIgnoresItsKey) {
  test_client c(node_.port());
  ASSERT_TRUE(c.connected());
  auto j = health_json(c, "some key that means nothing");
  ASSERT_TRUE(j.has_value());
  EXPECT_TRUE(j->contains("status"));
  EXPECT_TRUE(j->contains("keys"));
  // The stream is still in step after a HEALTH with a key.
  ASSERT_TRUE(c.set("after-health", "v").ok());
  EXPECT_EQ(c.get("after-health").payload, "v");
}

TEST_F(NodeProtocol, HealthKeyCountGrowsAfterSets) {
  test_client c(node_.port());
  ASSERT_TRUE(c.connected());
  auto before = health_json(c);
  ASSERT_TRUE(before.has_value());
  ASSERT_TRUE((*before)["keys"].is_number());
  auto keys_before = (*before)["keys"].get<double>();
  constexpr int added = 25;
  for (int i = 0; i < added; ++i) {
    ASSERT_TRUE(c.set("count/" + std::to_string(i), "v").ok());
  }
  // The count may be maintained asynchronously: wait for it, with a deadline.
  double keys_after = keys_before;
  auto deadline = clock_type::now() + 5s;
  while (clock_type::now() < deadline) {
    auto after = health_json(c);
    ASSERT_TRUE(after.has_value());
    keys_after = (*after)["keys"].get<double>();
    if (keys_after >= keys_before + added) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_GE(keys_after, keys_before + added)
      << "keys before " << keys_before << ", after " << added << " new keys: " << keys_after;
}

TEST_F(NodeProtocol, CompressedSetReturnsOriginalBytes) {
  test_client c(node_.port());
  ASSERT_TRUE(c.connected());
  std::mt19937_64 rng(3);
  std::string text;
  while (text.size() < 200000)
    text += "the quick brown fox jumps over the lazy dog. ";
  const std::vector<std::string> values = {text, random_bytes(rng, 10000), "hello",
                                           all_byte_values(8), ""};
  for (std::size_t i = 0; i < values.size(); ++i) {
    for (bool content_size : {true, false}) {
      std::string key = "z/" + std::to_string(i) + "/" + std::to_string(content_size);
      std::string frame = zstd_compress(values[i], 3, content_size);
      ASSERT_FALSE(frame.empty());
      auto s = c.set(key, frame, /*compressed=*/true);
      ASSERT_TRUE(s.ok()) << "compressed SET of value " << i << " (" << values[i].size()
                          << " bytes, content size in header: " << content_size << "): " << s;
      auto g = c.get(key);
      ASSERT_TRUE(g.ok()) << g;
      EXPECT_EQ(g.payload.size(), values[i].size()) << key;
      EXPECT_TRUE(g.payload == values[i]) << key << " came back " << printable(g.payload);
    }
  }
}

struct pipelined_op {
  wire::opcode op;
  std::string key;
  std::string value;                 // SET
  std::optional<std::string> expect; // GET: the value, or nullopt for "not found"
};

TEST_F(NodeProtocol, PipelinedBurstOf500RepliesInOrder) {
  constexpr std::size_t ops_total = 500;
  std::mt19937_64 rng(20240601);
  std::map<std::string, std::optional<std::string>> model;
  std::vector<pipelined_op> ops;
  std::size_t read_your_writes = 0, read_your_deletes = 0;
  auto pool_key = [&] { return "pipe/k" + std::to_string(rng() % 12); };
  auto get_of = [&](const std::string& key) {
    auto it = model.find(key);
    return pipelined_op{wire::opcode::get, key, {}, it == model.end() ? std::nullopt : it->second};
  };
  while (ops.size() < ops_total) {
    auto dice = rng() % 10;
    if (dice < 4) {
      std::string key = rng() % 4 == 0 ? "pipe/u" + std::to_string(ops.size()) : pool_key();
      std::string value = "v" + std::to_string(ops.size()) + ":" + random_bytes(rng, rng() % 200);
      model[key] = value;
      ops.push_back({wire::opcode::set, key, value, std::nullopt});
      if (ops.size() < ops_total && rng() % 2 == 0) {
        ops.push_back(get_of(key));
        ++read_your_writes;
      }
    } else if (dice < 7) {
      ops.push_back(get_of(pool_key()));
    } else {
      std::string key = pool_key();
      model[key] = std::nullopt;
      ops.push_back({wire::opcode::del, key, {}, std::nullopt});
      if (ops.size() < ops_total && rng() % 2 == 0) {
        ops.push_back(get_of(key));
        ++read_your_deletes;
      }
    }
  }
  ASSERT_EQ(ops.size(), ops_total);
  ASSERT_GT(read_your_writes, 20u);
  ASSERT_GT(read_your_deletes, 10u);

  std::string burst;
  for (const auto& o : ops)
    wire::append_request(burst, o.op, o.key, o.value);
  test_client c(node_.port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_raw(burst)) << "one write of " << burst.size() << " bytes";

  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    auto r = c.read_reply();
    ASSERT_TRUE(r.io_ok) << "reply " << i << " of " << ops.size() << " missing";
    const auto& o = ops[i];
    bool good;
    std::string want;
    if (o.op == wire::opcode::get) {
      good = o.expect ? (r.ok() && r.payload == *o.expect) : r.is_error("not found");
      want = o.expect ? "value " + printable(*o.expect) : "not found";
    } else {
      good = r.ok() && r.payload.empty();
      want = "success";
    }
    if (!good && ++mismatches <= 5) {
      // Name the request whose value came back, to tell "stale" from "from the future".
      std::string origin;
      for (std::size_t j = 0; r.ok() && j < ops.size(); ++j) {
        if (ops[j].op == wire::opcode::set && ops[j].key == o.key && ops[j].value == r.payload) {
          origin = " = the value of SET #" + std::to_string(j) +
                   (j > i ? ", a LATER request in the pipeline" : "");
        }
      }
      ADD_FAILURE() << "reply " << i << " to "
                    << (o.op == wire::opcode::get   ? "GET"
                        : o.op == wire::opcode::set ? "SET"
                                                    : "DEL")
                    << " " << o.key << ": want " << want << ", got " << r << origin;
    }
  }
  EXPECT_EQ(mismatches, 0u);
  // The final state agrees with the model, on a second connection.
  test_client check(node_.port());
  ASSERT_TRUE(check.connected());
  for (const auto& [key, value] : model) {
    auto g = check.get(key);
    if (value) {
      EXPECT_TRUE(g.ok() && g.payload == *value) << key << ": " << g;
    } else {
      EXPECT_TRUE(g.is_error("not found")) << key << ": " << g;
    }
  }
}

TEST_F(NodeProtocol, PipelinedGetSeesEarlierWritesButNotLaterOnes) {
  // Other writes first, so the node has writes in flight when the GETs arrive.
  std::string burst;
  for (int i = 0; i < 50; ++i) {
    wire::append_request(burst, wire::opcode::set, "filler/" + std::to_string(i), "x");
  }
  wire::append_request(burst, wire::opcode::get, "order"); // absent
  wire::append_request(burst, wire::opcode::set, "order", "first");
  wire::append_request(burst, wire::opcode::get, "order"); // first
  wire::append_request(burst, wire::opcode::set, "order", "second");
  wire::append_request(burst, wire::opcode::get, "order"); // second
  wire::append_request(burst, wire::opcode::del, "order");
  wire::append_request(burst, wire::opcode::get, "order"); // absent
  test_client c(node_.port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_raw(burst));
  for (int i = 0; i < 50; ++i)
    ASSERT_TRUE(c.read_reply().ok()) << "filler " << i;
  auto g0 = c.read_reply();
  EXPECT_TRUE(c.read_reply().ok());
  auto g1 = c.read_reply();
  EXPECT_TRUE(c.read_reply().ok());
  auto g2 = c.read_reply();
  EXPECT_TRUE(c.read_reply().ok());
  auto g3 = c.read_reply();
  EXPECT_TRUE(g0.is_error("not found")) << "GET before any SET: " << g0;
  EXPECT_TRUE(g1.ok() && g1.payload == "first") << "GET between SET first and SET second: " << g1;
  EXPECT_TRUE(g2.ok() && g2.payload == "second") << "GET between SET second and DELETE: " << g2;
  EXPECT_TRUE(g3.is_error("not found")) << "GET after DELETE: " << g3;
}

TEST_F(NodeProtocol, TwentyConcurrentConnections) {
  constexpr int threads_total = 20;
  constexpr int rounds = 60;
  std::atomic<int> ready{0};
  std::mutex errors_mu;
  std::vector<std::string> errors; // guarded by errors_mu
  std::vector<std::map<std::string, std::optional<std::string>>> finals(threads_total);
  auto fail = [&](std::string what) {
    std::lock_guard<std::mutex> lock(errors_mu);
    if (errors.size() < 20) errors.push_back(std::move(what));
  };
  auto worker = [&](int t) {
    test_client c(node_.port());
    if (!c.connected()) return fail("thread " + std::to_string(t) + ": connect failed");
    ready.fetch_add(1);
    auto start_deadline = clock_type::now() + 5s;
    while (ready.load() < threads_total && clock_type::now() < start_deadline) {
      std::this_thread::yield();
    }
    auto& mine = finals[t];
    for (int i = 0; i < rounds; ++i) {
      std::string key = "conc/" + std::to_string(t) + "/" + std::to_string(i % 7);
      std::string value = "t" + std::to_string(t) + "i" + std::to_string(i) + lit("\0\xFF");
      if (auto s = c.set(key, value); !s.ok()) {
        return fail(key + " SET: " + printable(s.payload));
      }
      mine[key] = value;
      auto g = c.get(key);
      if (!g.ok() || g.payload != value) {
        return fail(key + " GET after SET: " + printable(g.payload));
      }
      if (i % 5 == 4) {
        if (!c.del(key).ok()) return fail(key + " DELETE failed");
        mine[key] = std::nullopt;
        if (!c.get(key).is_error("not found")) return fail(key + " GET after DELETE found it");
      }
      // All threads fight over one key: any writer's value is fine, garbage is not.
      std::string shared_value = "shared-from-" + std::to_string(t) + "-" + std::to_string(i);
      if (!c.set("conc/shared", shared_value).ok()) return fail("shared SET failed");
      auto sg = c.get("conc/shared");
      if (!sg.ok() || sg.payload.rfind("shared-from-", 0) != 0) {
        return fail("shared GET: " + printable(sg.payload));
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads_total; ++t)
    pool.emplace_back(worker, t);
  for (auto& th : pool)
    th.join();
  for (const auto& e : errors)
    ADD_FAILURE() << e;
  ASSERT_TRUE(errors.empty());

  test_client check(node_.port());
  ASSERT_TRUE(check.connected());
  for (const auto& mine : finals) {
    for (const auto& [key, value] : mine) {
      auto g = check.get(key);
      if (value) {
        EXPECT_TRUE(g.ok() && g.payload == *value) << key << ": " << g;
      } else {
        EXPECT_TRUE(g.is_error("not found")) << key << ": " << g;
      }
    }
  }
}

TEST_F(NodeProtocol, DataPersistsAcrossCleanRestart) {
  std::mt19937_64 rng(99);
  std::map<std::string, std::string> kept;
  {
    test_client c(node_.port());
    ASSERT_TRUE(c.connected());
    for (int i = 0; i < 200; ++i) {
      kept["persist/" + std::to_string(i)] = random_bytes(rng, 1 + rng() % 3000);
    }
    kept["persist/big"] = random_bytes(rng, 1u << 20);
    kept["persist/binary"] = all_byte_values(3);
    kept["persist/empty"] = "";
    for (const auto& [k, v] : kept)
      ASSERT_TRUE(c.set(k, v).ok()) << k;
    ASSERT_TRUE(c.set("persist/deleted", "gone soon").ok());
    ASSERT_TRUE(c.del("persist/deleted").ok());
    ASSERT_TRUE(c.set("persist/overwritten", "old").ok());
    ASSERT_TRUE(c.set("persist/overwritten", "new").ok());
    kept["persist/overwritten"] = "new";
  }
  EXPECT_TRUE(node_.stop()) << "SIGTERM did not stop the node within 10 s";
  EXPECT_EQ(node_.last_exit_description(), "exited 0") << "after SIGTERM";
  ASSERT_TRUE(node_.restart());
  test_client c(node_.port());
  ASSERT_TRUE(c.connected());
  for (const auto& [k, v] : kept) {
    auto g = c.get(k);
    EXPECT_TRUE(g.ok() && g.payload == v) << k << " after restart: " << g;
  }
  auto g = c.get("persist/deleted");
  EXPECT_TRUE(g.is_error("not found")) << "a deleted key came back: " << g;
}

// -- AUTH (protocol/README.md §6.1: -auth/-authmode, op 0x06) ------------------------------

TEST(NodeAuth, WritesModeNeedsAuthForSetAndDelete) {
  node_process node({"-auth", "s3cret", "-authmode", "writes"});
  ASSERT_TRUE(node.start());
  {
    test_client c(node.port());
    ASSERT_TRUE(c.connected());
    auto g = c.get("a");
    EXPECT_TRUE(g.is_error("not found")) << "reads need no auth in mode writes: " << g;
    EXPECT_TRUE(c.health().ok());
    auto s = c.set("a", "v");
    EXPECT_TRUE(s.is_error("unauthorized")) << s;
    EXPECT_TRUE(c.is_closed_by_peer(5s)) << "connection stays open after unauthorized";
  }
  {
    test_client c(node.port());
    ASSERT_TRUE(c.connected());
    auto d = c.del("a");
    EXPECT_TRUE(d.is_error("unauthorized")) << d;
    EXPECT_TRUE(c.is_closed_by_peer(5s));
  }
  {
    test_client c(node.port());
    ASSERT_TRUE(c.connected());
    auto a = c.auth("wrong");
    EXPECT_TRUE(a.io_ok) << "no reply to a wrong AUTH";
    EXPECT_EQ(a.status, wire::status_error) << a;
  }
  {
    test_client c(node.port());
    ASSERT_TRUE(c.connected());
    auto a = c.auth("s3cret");
    ASSERT_TRUE(a.ok()) << a;
    EXPECT_TRUE(a.payload.empty()) << a;
    auto s = c.set("a", "v");
    EXPECT_TRUE(s.ok()) << s;
    EXPECT_EQ(c.get("a").payload, "v");
    EXPECT_TRUE(c.del("a").ok());
  }
}

TEST(NodeAuth, AllModeNeedsAuthForReadsButNotHealth) {
  node_process node({"-auth", "s3cret", "-authmode", "all"});
  ASSERT_TRUE(node.start());
  {
    test_client c(node.port());
    ASSERT_TRUE(c.connected());
    auto h = c.health();
    EXPECT_TRUE(h.ok()) << "HEALTH needs no auth: " << h;
    auto g = c.get("a");
    EXPECT_TRUE(g.is_error("unauthorized")) << g;
    EXPECT_TRUE(c.is_closed_by_peer(5s));
  }
  {
    test_client c(node.port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.auth("s3cret").ok());
    EXPECT_TRUE(c.set("a", "v").ok());
    EXPECT_EQ(c.get("a").payload, "v");
  }
}

} // namespace
} // namespace minivault::test
