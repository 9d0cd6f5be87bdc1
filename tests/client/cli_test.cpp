// minivault-cli: argument parsing as a unit, and the real binary against a real node
// (exit codes 0/1/2, stdin values, exact bytes on stdout, auth from flag or environment).

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "client/cli_args.hpp"
#include "tests/support/node_process.hpp"
#include "tests/support/run_process.hpp"

namespace minivault::test {
namespace {

using minivault::client::cli_args;
using minivault::client::cli_command;
using minivault::client::parse_cli_args;

/// Runs minivault-cli with `args`; see run_process.
run_result run_cli(const std::vector<std::string>& args, const std::string& input = {},
                   const std::vector<std::string>& env = {}) {
  return run_process(MINIVAULT_CLI_BIN, args, input, env, {"MINIVAULT_AUTH"});
}

// -- parsing ------------------------------------------------------------------------------

cli_args parsed(const std::vector<std::string>& args, const char* env_auth = nullptr) {
  cli_args a;
  std::string err = parse_cli_args(args, env_auth, a);
  EXPECT_EQ(err, "");
  return a;
}

std::string refusal(const std::vector<std::string>& args) {
  cli_args a;
  return parse_cli_args(args, nullptr, a);
}

TEST(CliArgs, FlagsInBothSyntaxesAndCommands) {
  auto a = parsed({"--host", "db1", "--port=4000", "--auth", "k", "--timeout", "250", "get", "x"});
  EXPECT_EQ(a.conn.host, "db1");
  EXPECT_EQ(a.conn.port, 4000);
  EXPECT_EQ(a.conn.auth_key, "k");
  EXPECT_EQ(a.conn.io_timeout.count(), 250);
  EXPECT_EQ(a.command, cli_command::get);
  EXPECT_EQ(a.key, "x");
  EXPECT_EQ(a.conn.compress_min_bytes, 0u);
  EXPECT_EQ(parsed({"--compress", "set", "k", "v"}).conn.compress_min_bytes,
            minivault::client::cli_compress_min_bytes_default);
  EXPECT_EQ(parsed({"--compress=64", "set", "k", "v"}).conn.compress_min_bytes, 64u);
  EXPECT_EQ(*parsed({"set", "k", "v"}).value, "v");
  EXPECT_FALSE(parsed({"set", "k"}).value.has_value()) << "no value: read stdin";
  EXPECT_FALSE(parsed({"set", "k", "-"}).value.has_value()) << "'-': read stdin";
  EXPECT_EQ(parsed({"--", "get", "-dash"}).key, "-dash");
  EXPECT_EQ(parsed({"del", "k"}).command, cli_command::del);
  EXPECT_EQ(parsed({"health"}).command, cli_command::health);
  EXPECT_EQ(parsed({"-h"}).command, cli_command::help);
}

TEST(CliArgs, AuthComesFromTheEnvironmentUnlessGiven) {
  EXPECT_EQ(parsed({"get", "k"}, "fromenv").conn.auth_key, "fromenv");
  EXPECT_EQ(parsed({"--auth", "flag", "get", "k"}, "fromenv").conn.auth_key, "flag");
}

TEST(CliArgs, MistakesAreRefusedWithAReason) {
  EXPECT_NE(refusal({}).find("missing command"), std::string::npos);
  EXPECT_NE(refusal({"fetch", "k"}).find("unknown command"), std::string::npos);
  EXPECT_NE(refusal({"get"}).find("wrong number"), std::string::npos);
  EXPECT_NE(refusal({"get", "a", "b"}).find("wrong number"), std::string::npos);
  EXPECT_NE(refusal({"get", ""}).find("empty"), std::string::npos);
  EXPECT_NE(refusal({"--port", "70000", "health"}).find("--port"), std::string::npos);
  EXPECT_NE(refusal({"--port", "12x", "health"}).find("--port"), std::string::npos);
  EXPECT_NE(refusal({"--port"}).find("missing value"), std::string::npos);
  EXPECT_NE(refusal({"--verbose", "health"}).find("unknown flag"), std::string::npos);
  EXPECT_NE(refusal({"--compress=lots", "health"}).find("--compress"), std::string::npos);
  EXPECT_NE(refusal({"get", std::string(70000, 'k')}).find("65535"), std::string::npos);
}

// -- the binary ---------------------------------------------------------------------------

class Cli : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_TRUE(node_.start()); }
  std::vector<std::string> at(std::vector<std::string> rest) {
    std::vector<std::string> args{"--port", std::to_string(node_.port())};
    args.insert(args.end(), rest.begin(), rest.end());
    return args;
  }
  node_process node_;
};

TEST_F(Cli, ExitCodesAreZeroOkOneNotFoundTwoError) {
  auto set = run_cli(at({"set", "k", "hello"}));
  EXPECT_EQ(set.exit_code, 0) << set.err;
  auto get = run_cli(at({"get", "k"}));
  EXPECT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.out, "hello") << "a pipe gets the exact bytes, no newline added";
  auto del = run_cli(at({"del", "k"}));
  EXPECT_EQ(del.exit_code, 0) << del.err;
  auto missing = run_cli(at({"get", "k"}));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.out, "");
  EXPECT_NE(missing.err.find("not found"), std::string::npos);
  auto usage = run_cli(at({"frobnicate"}));
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.err.find("usage:"), std::string::npos);
  auto refused =
      run_cli({"--port", std::to_string(pick_free_port()), "--timeout", "500", "get", "k"});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("io error"), std::string::npos) << refused.err;
  auto bad = run_cli(at({"set", "x", ""}));
  EXPECT_EQ(bad.exit_code, 0) << "an empty value is a value";
}

TEST_F(Cli, ValueFromStdinRoundTripsExactBytesCompressedOrNot) {
  std::mt19937_64 rng(3);
  std::string value(300000, '\0');
  for (std::size_t i = 0; i < value.size(); ++i) // half random, half compressible
    value[i] = i % 2 ? static_cast<char>(rng() & 0xFF) : 'a';
  auto set = run_cli(at({"--compress", "set", "blob"}), value);
  ASSERT_EQ(set.exit_code, 0) << set.err;
  auto get = run_cli(at({"get", "blob"}));
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_TRUE(get.out == value) << "got " << get.out.size() << " bytes";
  auto dash = run_cli(at({"set", "d", "-"}), std::string("line\n"));
  ASSERT_EQ(dash.exit_code, 0) << dash.err;
  EXPECT_EQ(run_cli(at({"get", "d"})).out, "line\n");
}

TEST_F(Cli, UnwritableStdoutIsAnErrorNotSuccess) {
  ASSERT_EQ(run_cli(at({"set", "k", "value"})).exit_code, 0);
  const std::string cmd = std::string(MINIVAULT_CLI_BIN) + " --port " +
                          std::to_string(node_.port()) + " get k > /dev/full";
  auto r = run_process("/bin/sh", {"-c", cmd});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("could not write"), std::string::npos) << r.err;
}

TEST_F(Cli, HealthPrintsIndentedJson) {
  auto h = run_cli(at({"health"}));
  ASSERT_EQ(h.exit_code, 0) << h.err;
  EXPECT_NE(h.out.find("\n  \"status\": \"healthy\""), std::string::npos) << h.out;
  EXPECT_EQ(nlohmann::json::parse(h.out)["keys"], 0);
}

TEST(CliArgs, ConsistencyIsALevelName) {
  EXPECT_EQ(parsed({"--consistency", "each_quorum", "set", "k", "v"}).conn.consistency,
            "each_quorum");
  EXPECT_EQ(parsed({"get", "k"}).conn.consistency, "") << "the node's default";
  EXPECT_NE(refusal({"--consistency", "QUORUM", "get", "k"}).find("--consistency"),
            std::string::npos);
}

TEST_F(Cli, ConsistencyIsSentBeforeTheRequest) {
  // A single node meets every level; the node answered CONSISTENCY before the SET.
  auto set = run_cli(at({"--consistency", "all", "set", "cl", "v"}));
  EXPECT_EQ(set.exit_code, 0) << set.err;
  auto q = run_cli(at({"--consistency=quorum", "qget", "cl"}));
  EXPECT_EQ(q.exit_code, 0) << q.err;
  EXPECT_EQ(q.out, "v");
}

TEST(CliAuth, FlagOrEnvironmentAuthenticatesAndAWrongKeyIsAnError) {
  node_process node({"-auth", "s3cret", "-authmode", "writes"});
  ASSERT_TRUE(node.start());
  const std::string port = std::to_string(node.port());
  auto anon = run_cli({"--port", port, "set", "k", "v"});
  EXPECT_EQ(anon.exit_code, 2);
  EXPECT_NE(anon.err.find("unauthorized"), std::string::npos) << anon.err;
  EXPECT_EQ(run_cli({"--port", port, "--auth", "s3cret", "set", "k", "v"}).exit_code, 0);
  EXPECT_EQ(run_cli({"--port", port, "set", "k2", "v2"}, {}, {"MINIVAULT_AUTH=s3cret"}).exit_code,
            0);
  auto wrong = run_cli({"--port", port, "--auth", "nope", "set", "k", "x"});
  EXPECT_EQ(wrong.exit_code, 2);
  auto get = run_cli({"--port", port, "get", "k"}); // reads are open in mode `writes`
  EXPECT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.out, "v");
}

} // namespace
} // namespace minivault::test
