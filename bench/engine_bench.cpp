// Storage engine throughput: puts (counted only once `apply` returned, i.e. committed to
// SQLite's WAL with write(2): durable against SIGKILL) and gets (cache-resident), with
// 100-byte values over 10k and 1M keys, from 1 and 2 threads.
//
// Puts from 2 threads: the engine has a single writer (the storage actor in the node);
// both threads build batches and take turns committing them, as the I/O threads do.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "storage/engine.hpp"

using namespace minivault;
using namespace minivault::storage;

namespace {

constexpr std::size_t value_bytes = 100;
constexpr std::size_t batch_writes = 1000;

struct fixture {
  std::string dir;
  std::unique_ptr<engine> db;
  std::vector<std::string> keys;
  std::string value = std::string(value_bytes, 'v');
  std::mutex writer;

  explicit fixture(std::size_t key_count) {
    char tmpl[] = "/tmp/minivault-bench-XXXXXX";
    dir = ::mkdtemp(tmpl);
    engine_options o;
    o.dir = dir;
    o.cache_bytes_max = 1ull << 30;
    if (const char* pb = std::getenv("MINIVAULT_PAGE_BYTES")) o.page_bytes = std::atoi(pb);
    auto opened = engine::open(o);
    if (!opened) std::abort();
    db = std::move(opened).value();
    keys.reserve(key_count);
    for (std::size_t i = 0; i < key_count; ++i)
      keys.push_back("key:" + std::to_string(i));
  }
  ~fixture() {
    db.reset();
    std::string cmd = "rm -rf '" + dir + "'";
    (void)!std::system(cmd.c_str());
  }
  void fill() {
    std::vector<write_op> ops;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      ops.push_back(write_op{keys[i], value, false, {}});
      if (ops.size() == batch_writes || i + 1 == keys.size()) {
        if (db->apply(ops.data(), ops.size()) != errc::ok) std::abort();
        ops.clear();
      }
    }
  }
};

std::unique_ptr<fixture> shared;

void setup(const benchmark::State& state) {
  shared = std::make_unique<fixture>(static_cast<std::size_t>(state.range(0)));
}
void setup_filled(const benchmark::State& state) {
  setup(state);
  shared->fill();
}
void teardown(const benchmark::State&) {
  shared.reset();
}

void BM_put(benchmark::State& state) {
  fixture& f = *shared;
  std::mt19937_64 rng(state.thread_index() + 1);
  std::vector<write_op> ops(batch_writes);
  for (auto _ : state) {
    for (auto& op : ops)
      op = write_op{f.keys[rng() % f.keys.size()], f.value, false, {}};
    std::lock_guard<std::mutex> turn(f.writer);
    if (f.db->apply(ops.data(), ops.size()) != errc::ok) state.SkipWithError("apply failed");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch_writes));
}

// Small group commits (16 writes each), the shape of a lightly loaded server: measures
// the fixed cost of one transaction.
void BM_put_small_batches(benchmark::State& state) {
  fixture& f = *shared;
  std::mt19937_64 rng(3);
  std::vector<write_op> ops(16);
  for (auto _ : state) {
    for (auto& op : ops)
      op = write_op{f.keys[rng() % f.keys.size()], f.value, false, {}};
    if (f.db->apply(ops.data(), ops.size()) != errc::ok) state.SkipWithError("apply failed");
  }
  state.SetItemsProcessed(state.iterations() * 16);
}

void BM_get(benchmark::State& state) {
  fixture& f = *shared;
  std::mt19937_64 rng(state.thread_index() + 7);
  std::size_t found = 0, n = f.keys.size();
  char sink[value_bytes];
  auto copy = [&sink](std::string_view v) { std::memcpy(sink, v.data(), v.size()); };
  for (auto _ : state) {
    for (int i = 0; i < 1000; ++i)
      found += f.db->get(f.keys[rng() % n], value_sink(copy)) == get_status::found;
    benchmark::DoNotOptimize(sink);
  }
  if (found != static_cast<std::size_t>(state.iterations()) * 1000)
    state.SkipWithError("a key was missing");
  state.SetItemsProcessed(state.iterations() * 1000);
}

} // namespace

BENCHMARK(BM_put)
    ->Arg(10000)
    ->Arg(1000000)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime()
    ->Setup(setup)
    ->Teardown(teardown)
    ->MinTime(2.0);
BENCHMARK(BM_put_small_batches)
    ->Arg(10000)
    ->UseRealTime()
    ->Setup(setup)
    ->Teardown(teardown)
    ->MinTime(2.0);
BENCHMARK(BM_get)
    ->Arg(10000)
    ->Arg(1000000)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime()
    ->Setup(setup_filled)
    ->Teardown(teardown)
    ->MinTime(2.0);

BENCHMARK_MAIN();
