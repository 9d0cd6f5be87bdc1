// minivault-bench end to end: the real binary against a real node and a real
// redis-server (both on free 127.0.0.1 ports), checking what it reports and that it
// really wrote what it says.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "client/client.hpp"
#include "client/socket.hpp"
#include "tests/support/node_process.hpp"
#include "tests/support/run_process.hpp"

extern char** environ;

namespace minivault::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

/// A redis-server child on a free port with a private directory; stopped by its PID.
class redis_process {
public:
  redis_process() {
    char tmpl[] = "/tmp/minivault-redis-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    port_ = pick_free_port();
    std::vector<std::string> args{"redis-server",
                                  "--port",
                                  std::to_string(port_),
                                  "--bind",
                                  "127.0.0.1",
                                  "--save",
                                  "",
                                  "--appendonly",
                                  "no",
                                  "--dir",
                                  dir_,
                                  "--daemonize",
                                  "no",
                                  "--logfile",
                                  dir_ + "/redis.log"};
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    if (::posix_spawnp(&pid_, "redis-server", nullptr, nullptr, argv.data(), environ) != 0)
      pid_ = -1;
  }
  ~redis_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    std::filesystem::remove_all(dir_);
  }
  /// True once the port accepts connections (at most 10 s).
  bool ready() const {
    for (int i = 0; i < 200 && pid_ > 0; ++i) {
      int fd = -1;
      auto io = client::connect_tcp("127.0.0.1", port_, client::clock_type::now() + 1s, fd);
      if (io.status == client::io_status::ok) {
        ::close(fd);
        return true;
      }
      std::this_thread::sleep_for(50ms);
    }
    return false;
  }
  std::uint16_t port() const { return port_; }

private:
  std::string dir_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

run_result bench(std::uint16_t port, std::vector<std::string> extra) {
  std::vector<std::string> args{
      "--port", std::to_string(port), "--duration", "0.5", "--warmup", "0.2", "-c", "8", "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_process(MINIVAULT_BENCH_BIN, args);
}

json report(const run_result& r) {
  auto j = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.out << r.err;
  return j.is_discarded() ? json::object() : j;
}

TEST(LoadGenerator, WritesAndReadsARealNodeAndReportsPercentiles) {
  node_process node;
  ASSERT_TRUE(node.start());
  auto set = bench(node.port(), {"--keys", "50", "--value-size", "100", "-P", "4"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  auto s = report(set);
  EXPECT_GT(s["ops"].get<double>(), 100);
  EXPECT_EQ(s["errors"], 0);
  EXPECT_LE(s["p50_us"].get<double>(), s["p99_us"].get<double>());
  EXPECT_LE(s["p99_us"].get<double>(), s["max_us"].get<double>());

  client::options o;
  o.port = node.port();
  client::client c(o);
  auto h = json::parse(c.health().value);
  // Thousands of random SETs over 50 keys: missing one has odds of about 1e-7.
  EXPECT_EQ(h["keys"], 50) << "the SET run wrote every key of its key space";
  EXPECT_EQ(c.get("key:000000000049").value.size(), 100u);

  auto get = bench(node.port(), {"--keys", "50", "--reads", "1", "--threads", "2"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(report(get)["misses"], 0);
}

TEST(LoadGenerator, GetsOfAnEmptyKeySpaceAreMissesNotErrors) {
  node_process node;
  ASSERT_TRUE(node.start());
  auto get = bench(node.port(), {"--reads", "1"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  auto j = report(get);
  EXPECT_GT(j["ops"].get<double>(), 0);
  EXPECT_EQ(j["misses"], j["ops"]);
  EXPECT_EQ(j["errors"], 0);
}

TEST(LoadGenerator, SpeaksRespToARealRedis) {
  redis_process redis;
  ASSERT_TRUE(redis.ready()) << "redis-server did not start (is it installed?)";
  auto r =
      bench(redis.port(), {"--redis", "--prefill", "--keys", "300", "--reads", "0.5", "-P", "8"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = report(r);
  EXPECT_EQ(j["server"], "redis");
  EXPECT_GT(j["ops"].get<double>(), 100);
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["misses"], 0) << "every key was prefilled";
}

TEST(LoadGenerator, AuthFailuresAndBadFlagsStopTheRunWithExitTwo) {
  node_process node({"-auth", "pw", "-authmode", "writes"});
  ASSERT_TRUE(node.start());
  auto anon = bench(node.port(), {});
  EXPECT_EQ(anon.exit_code, 2) << anon.out;
  EXPECT_NE(anon.err.find("closed"), std::string::npos) << anon.err;
  auto wrong = bench(node.port(), {"--auth", "nope"});
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.err.find("auth"), std::string::npos) << wrong.err;
  auto right = bench(node.port(), {"--auth", "pw"});
  EXPECT_EQ(right.exit_code, 0) << right.err;
  EXPECT_EQ(report(right)["errors"], 0);
  auto bad = bench(node.port(), {"--reads", "2"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--reads"), std::string::npos) << bad.err;
  auto refused = run_process(MINIVAULT_BENCH_BIN,
                             {"--port", std::to_string(pick_free_port()), "--duration", "0.2"});
  EXPECT_EQ(refused.exit_code, 2);
}

} // namespace
} // namespace minivault::test
