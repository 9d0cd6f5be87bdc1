#include "protocol/options.hpp"
#include "protocol/utf8.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace minivault;
using kind = options_result::kind;

namespace {

// Every option of node_options, by its flag / config-key name.
const std::vector<std::string> all_keys = {
    "port",
    "http",
    "http-timeout-ms",
    "public-url",
    "data",
    "auth",
    "authmode",
    "ratelimit",
    "ratelimit-per-ip",
    "cache",
    "workers",
    "config",
    "bind",
    "protected-mode",
    "region",
    "node-id",
    "fsync",
    "fsync-interval-ms",
    "value-max-bytes",
    "compress-min-bytes",
    "io-threads",
    "max-connections",
    "replication-factor",
    "write-quorum",
    "write-consistency",
    "read-consistency",
    "geo-backlog-max",
    "cluster-port",
    "request-timeout-ms",
    "stall-timeout-ms",
    "log-level",
    "tls-cert",
    "tls-key",
    "tls-ca",
    "cluster-nodes",
};

options_result parse(std::vector<std::string> args, const char* env = nullptr) {
  args.insert(args.begin(), "minivault");
  std::vector<const char*> argv;
  for (const auto& a : args)
    argv.push_back(a.c_str());
  argv.push_back(nullptr);
  return parse_options(static_cast<int>(args.size()), argv.data(), env);
}

std::vector<peer_address> peers(std::initializer_list<std::pair<const char*, int>> list) {
  std::vector<peer_address> out;
  for (const auto& [host, port] : list)
    out.push_back({host, static_cast<std::uint16_t>(port)});
  return out;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

void expect_defaults(const node_options& o) {
  EXPECT_EQ(o.port, 3000);
  EXPECT_EQ(o.http_port, 0);
  EXPECT_EQ(o.public_url, "");
  EXPECT_EQ(o.data_dir, "./data");
  EXPECT_EQ(o.auth_key, "");
  EXPECT_EQ(o.auth, auth_mode::none);
  EXPECT_EQ(o.rate_limit_ops, 0u);
  EXPECT_EQ(o.cache_mb, 512u);
  EXPECT_EQ(o.workers, 50u);
  EXPECT_EQ(o.bind_address, "0.0.0.0");
  EXPECT_TRUE(o.protected_mode);
  EXPECT_EQ(o.region, "local");
  EXPECT_EQ(o.node_name, "");
  EXPECT_EQ(o.fsync, fsync_policy::none);
  EXPECT_EQ(o.fsync_interval_ms, 100u);
  EXPECT_EQ(o.value_bytes_max, 64u << 20);
  EXPECT_EQ(o.compress_bytes_min, 4096u);
  EXPECT_EQ(o.io_threads, 0u);
  EXPECT_EQ(o.max_connections, 10000u);
  EXPECT_EQ(o.replication_factor, 3u);
  EXPECT_EQ(o.write_quorum, 2u);
  EXPECT_EQ(o.write_consistency, consistency::local_quorum);
  EXPECT_EQ(o.read_consistency, consistency::local_quorum);
  EXPECT_EQ(o.cluster_port, 0);
  EXPECT_EQ(o.request_timeout_ms, 2000u);
  EXPECT_EQ(o.log_level, "info");
  EXPECT_EQ(o.tls_cert, "");
  EXPECT_EQ(o.tls_key, "");
  EXPECT_EQ(o.tls_ca, "");
  EXPECT_TRUE(o.peers.empty());
}

// A non-default value for every key but `config` (which a file cannot hold).
const std::vector<std::pair<std::string, std::string>> non_defaults = {
    {"port", "3001"},
    {"http", "8080"},
    {"public-url", "node1.example:3001"},
    {"data", "/var/lib/minivault"},
    {"auth", "s3cret"},
    {"authmode", "writes"},
    {"ratelimit", "18446744073709551615"},
    {"cache", "1024"},
    {"workers", "8"},
    {"bind", "127.0.0.1"},
    {"protected-mode", "no"},
    {"region", "eu-west"},
    {"node-id", "n1"},
    {"fsync", "interval"},
    {"fsync-interval-ms", "25"},
    {"value-max-bytes", "536870912"},
    {"compress-min-bytes", "0"},
    {"io-threads", "64"},
    {"max-connections", "77"},
    {"replication-factor", "5"},
    {"write-quorum", "5"},
    {"write-consistency", "each_quorum"},
    {"read-consistency", "one"},
    {"geo-backlog-max", "5000"},
    {"cluster-port", "65535"},
    {"request-timeout-ms", "4294967295"},
    {"stall-timeout-ms", "1500"},
    {"log-level", "debug"},
    {"tls-cert", "/etc/mv/node.crt"},
    {"tls-key", "/etc/mv/node.key"},
    {"tls-ca", "/etc/mv/ca.pem"},
    {"cluster-nodes", "a:1, b:65535"},
};

void expect_non_defaults(const node_options& o) {
  EXPECT_EQ(o.port, 3001);
  EXPECT_EQ(o.http_port, 8080);
  EXPECT_EQ(o.public_url, "node1.example:3001");
  EXPECT_EQ(o.data_dir, "/var/lib/minivault");
  EXPECT_EQ(o.auth_key, "s3cret");
  EXPECT_EQ(o.auth, auth_mode::writes);
  EXPECT_EQ(o.rate_limit_ops, 18446744073709551615ull);
  EXPECT_EQ(o.cache_mb, 1024u);
  EXPECT_EQ(o.workers, 8u);
  EXPECT_EQ(o.bind_address, "127.0.0.1");
  EXPECT_TRUE(o.bind_explicit);
  EXPECT_FALSE(o.protected_mode);
  EXPECT_EQ(o.region, "eu-west");
  EXPECT_EQ(o.node_name, "n1");
  EXPECT_EQ(o.fsync, fsync_policy::interval);
  EXPECT_EQ(o.fsync_interval_ms, 25u);
  EXPECT_EQ(o.value_bytes_max, value_bytes_max_ceiling);
  EXPECT_EQ(o.compress_bytes_min, 0u);
  EXPECT_EQ(o.io_threads, 64u);
  EXPECT_EQ(o.max_connections, 77u);
  EXPECT_EQ(o.replication_factor, 5u);
  EXPECT_EQ(o.write_quorum, 5u);
  EXPECT_EQ(o.write_consistency, consistency::each_quorum);
  EXPECT_EQ(o.read_consistency, consistency::one);
  EXPECT_EQ(o.geo_backlog_max, 5000u);
  EXPECT_EQ(o.cluster_port, 65535);
  EXPECT_EQ(o.request_timeout_ms, 4294967295u);
  EXPECT_EQ(o.stall_timeout_ms, 1500u);
  EXPECT_EQ(o.log_level, "debug");
  EXPECT_EQ(o.tls_cert, "/etc/mv/node.crt");
  EXPECT_EQ(o.tls_key, "/etc/mv/node.key");
  EXPECT_EQ(o.tls_ca, "/etc/mv/ca.pem");
  EXPECT_EQ(o.peers, peers({{"a", 1}, {"b", 65535}}));
}

// A scratch directory removed at the end of each test.
class options_files : public ::testing::Test {
protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() / ("minivault_options_test_" + std::to_string(::getpid()) +
                                        "_" + std::to_string(counter++));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string write(const std::string& name, const std::string& text) {
    auto path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }
  fs::path dir_;
};

// config/ of the source tree: MINIVAULT_SOURCE_DIR when the build defines it, else the
// first parent of the working directory holding config/minivault.ini, else next to
// this source file.
fs::path repo_config_dir() {
  std::vector<fs::path> candidates;
#ifdef MINIVAULT_SOURCE_DIR
  candidates.push_back(fs::path(MINIVAULT_SOURCE_DIR) / "config");
#endif
  std::error_code ec;
  for (fs::path p = fs::current_path(ec); !p.empty(); p = p.parent_path()) {
    candidates.push_back(p / "config");
    if (p == p.root_path()) break;
  }
  candidates.push_back(fs::path(__FILE__).parent_path() / ".." / ".." / "config");
  for (const auto& c : candidates)
    if (fs::exists(c / "minivault.ini", ec)) return c;
  return {};
}

} // namespace

// -- defaults and flag syntax -------------------------------------------------------------

TEST(options, no_arguments_give_the_documented_defaults) {
  auto r = parse({});
  ASSERT_EQ(r.status, kind::ok) << r.message;
  expect_defaults(r.options);
  EXPECT_EQ(r.options.config_file, "");
  expect_defaults(node_options{}); // the struct and the parser agree
}

TEST(options, every_flag_syntax_is_accepted) {
  for (auto args : std::vector<std::vector<std::string>>{
           {"-port", "3005"}, {"-port=3005"}, {"--port", "3005"}, {"--port=3005"}}) {
    auto r = parse(args);
    ASSERT_EQ(r.status, kind::ok) << args[0] << ": " << r.message;
    EXPECT_EQ(r.options.port, 3005) << args[0];
  }
}

TEST(options, the_spec_command_lines_work_verbatim) {
  auto one = parse({"-port", "3000", "-data", "./data"});
  ASSERT_EQ(one.status, kind::ok) << one.message;
  EXPECT_EQ(one.options.port, 3000);
  EXPECT_EQ(one.options.data_dir, "./data");

  auto r = parse({"-port", "3001", "-data", "./data1", "-public-url", "localhost:3001"},
                 "localhost:3002,localhost:3003");
  ASSERT_EQ(r.status, kind::ok) << r.message;
  EXPECT_EQ(r.options.port, 3001);
  EXPECT_EQ(r.options.data_dir, "./data1");
  EXPECT_EQ(r.options.public_url, "localhost:3001");
  EXPECT_EQ(r.options.peers, peers({{"localhost", 3002}, {"localhost", 3003}}));
}

TEST(options, every_flag_sets_its_field) {
  std::vector<std::string> args;
  for (const auto& [key, value] : non_defaults) {
    args.push_back("-" + key);
    args.push_back(value);
  }
  auto r = parse(args);
  ASSERT_EQ(r.status, kind::ok) << r.message;
  expect_non_defaults(r.options);
}

TEST(options, equals_form_keeps_everything_after_the_first_equals_sign) {
  auto r = parse({"-auth=a=b=c", "--public-url=", "-node-id="});
  ASSERT_EQ(r.status, kind::ok) << r.message;
  EXPECT_EQ(r.options.auth_key, "a=b=c");
  EXPECT_EQ(r.options.public_url, "");
}

TEST(options, a_separate_value_may_start_with_a_dash) {
  auto r = parse({"-auth", "-h", "-node-id", "--x"});
  ASSERT_EQ(r.status, kind::ok) << r.message;
  EXPECT_EQ(r.options.auth_key, "-h");
  EXPECT_EQ(r.options.node_name, "--x");
}

TEST(options, a_repeated_flag_takes_the_last_value) {
  auto r = parse({"-port", "3001", "-port=3002"});
  ASSERT_EQ(r.status, kind::ok) << r.message;
  EXPECT_EQ(r.options.port, 3002);
}

TEST(options, enum_values_are_parsed) {
  auto r = parse({"-authmode", "all", "-auth", "k", "-fsync", "always"});
  ASSERT_EQ(r.status, kind::ok) << r.message;
  EXPECT_EQ(r.options.auth, auth_mode::all);
  EXPECT_EQ(r.options.fsync, fsync_policy::always);
  for (auto level : {"error", "warning", "info", "debug"}) {
    auto l = parse({"-log-level", level});
    ASSERT_EQ(l.status, kind::ok) << l.message;
    EXPECT_EQ(l.options.log_level, level);
  }
}

TEST(options, limits_are_inclusive) {
  auto r = parse({"-port",
                  "1",
                  "-http",
                  "65535",
                  "-cluster-port",
                  "0",
                  "-cache",
                  "1",
                  "-workers",
                  "1",
                  "-value-max-bytes",
                  "1",
                  "-io-threads",
                  "0",
                  "-replication-factor",
                  "1",
                  "-write-quorum",
                  "1",
                  "-fsync-interval-ms",
                  "1",
                  "-port",
                  "65535"});
  ASSERT_EQ(r.status, kind::ok) << r.message;
  EXPECT_EQ(r.options.port, 65535);
  EXPECT_EQ(r.options.cache_mb, 1u);
  EXPECT_EQ(r.options.value_bytes_max, 1u);
  EXPECT_EQ(r.options.replication_factor, 1u);
}

// -- command-line errors ------------------------------------------------------------------

TEST(options, unknown_flag_is_named) {
  auto r = parse({"-prot", "3000"});
  ASSERT_EQ(r.status, kind::error);
  EXPECT_TRUE(contains(r.message, "unknown flag '-prot'")) << r.message;
  auto r2 = parse({"--nope=1"});
  ASSERT_EQ(r2.status, kind::error);
  EXPECT_TRUE(contains(r2.message, "'--nope'")) << r2.message;
  auto r3 = parse({"---port", "1"});
  EXPECT_EQ(r3.status, kind::error);
}

TEST(options, flag_without_value_is_an_error) {
  for (std::string flag : {"-port", "--data", "-config", "-cluster-nodes"}) {
    auto r = parse({"-http", "8080", flag});
    ASSERT_EQ(r.status, kind::error) << flag;
    EXPECT_TRUE(contains(r.message, "-" + flag.substr(flag.find_first_not_of('-')))) << r.message;
    EXPECT_TRUE(contains(r.message, "needs a value")) << r.message;
  }
}

TEST(options, positional_arguments_are_errors) {
  for (std::string arg : {"serve", "-", "--", "3000"}) {
    auto r = parse({"-port", "3001", arg});
    ASSERT_EQ(r.status, kind::error) << arg;
    EXPECT_TRUE(contains(r.message, "'" + arg + "'")) << r.message;
  }
}

TEST(options, the_first_command_line_error_is_reported) {
  auto r = parse({"-port", "x", "-bogus", "1"});
  ASSERT_EQ(r.status, kind::error);
  EXPECT_TRUE(contains(r.message, "-bogus")) << r.message; // scanning precedes values
  auto r2 = parse({"-bogus1", "-bogus2"});
  ASSERT_EQ(r2.status, kind::error);
  EXPECT_TRUE(contains(r2.message, "-bogus1")) << r2.message;
}

struct bad_case {
  std::string key;
  std::string value;
  std::string reason; // a fragment the message must contain
};

const std::vector<bad_case> bad_values = {
    {"port", "0", "1..65535"},
    {"port", "65536", "1..65535"},
    {"port", "abc", "'abc'"},
    {"port", "30x", "'30x'"},
    {"port", "-1", "'-1'"},
    {"port", "+1", "'+1'"},
    {"port", "3.0", "'3.0'"},
    {"port", "0x10", "'0x10'"},
    {"port", "", "1..65535"},
    {"port", "99999999999999999999999", "1..65535"},
    {"http", "65536", "0..65535"},
    {"http", "eighty", "0..65535"},
    {"cluster-port", "70000", "0..65535"},
    {"ratelimit", "18446744073709551616", "'18446744073709551616'"},
    {"ratelimit", "-5", "'-5'"},
    {"cache", "0", ">= 1"},
    {"cache", "lots", "'lots'"},
    {"workers", "0", "1..10000"},
    {"workers", "10001", "1..10000"},
    {"authmode", "sometimes", "none|writes|all"},
    {"authmode", "None", "'None'"},
    {"authmode", "", "none|writes|all"},
    {"fsync", "never", "none|interval|always"},
    {"fsync-interval-ms", "0", "1..4294967295"},
    {"fsync-interval-ms", "4294967296", "'4294967296'"},
    {"log-level", "trace", "error|warning|info|debug"},
    {"value-max-bytes", "0", "1..536870912"},
    {"value-max-bytes", "536870913", "1..536870912"},
    {"compress-min-bytes", "4k", "'4k'"},
    {"io-threads", "65", "0..64"},
    {"max-connections", "0", ">= 1"},
    {"geo-backlog-max", "0", ">= 1"},
    {"replication-factor", "0", "1..64"},
    {"write-quorum", "0", "1..64"},
    {"write-consistency", "QUORUM", "local_quorum"},
    {"read-consistency", "two", "'two'"},
    {"request-timeout-ms", "0", "1..4294967295"},
    {"stall-timeout-ms", "0", "1..4294967295"},
    {"data", "", "empty"},
    {"bind", "", "empty"},
    {"region", "", "empty"},
    {"cluster-nodes", "localhost", "'localhost'"},
    {"cluster-nodes", "a:1,b:0", "'b:0'"},
    {"cluster-nodes", ":3000", "':3000'"},
    {"cluster-nodes", "h:70000", "'h:70000'"},
    {"cluster-nodes", "h:x", "'h:x'"},
};

TEST(options, bad_flag_values_name_the_flag_and_the_reason) {
  for (const auto& c : bad_values) {
    auto r = parse({"-" + c.key + "=" + c.value});
    ASSERT_EQ(r.status, kind::error) << c.key << "=" << c.value;
    EXPECT_TRUE(contains(r.message, "-" + c.key + ":")) << r.message;
    EXPECT_TRUE(contains(r.message, c.reason)) << r.message << " lacks " << c.reason;
    // The separate-value form goes through the same path.
    auto r2 = parse({"--" + c.key, c.value});
    ASSERT_EQ(r2.status, kind::error) << c.key << " " << c.value;
    EXPECT_EQ(r2.message, r.message);
  }
}

TEST(options, bad_config_values_name_file_line_and_key) {
  for (const auto& c : bad_values) {
    std::string text = "# comment\n[minivault]\n" + c.key + " = " + c.value + "\nhttp = 1\n";
    auto r = parse_config_text(text, "node.ini", {});
    ASSERT_EQ(r.status, kind::error) << c.key << "=" << c.value;
    EXPECT_TRUE(contains(r.message, "node.ini:3: ")) << r.message;
    EXPECT_TRUE(contains(r.message, "'" + c.key + "'")) << r.message;
    EXPECT_TRUE(contains(r.message, c.reason)) << r.message << " lacks " << c.reason;
  }
}

TEST(options, numbers_with_surrounding_spaces_are_refused_on_the_command_line) {
  auto r = parse({"-port", " 3000"});
  ASSERT_EQ(r.status, kind::error);
  EXPECT_TRUE(contains(r.message, "-port")) << r.message;
  EXPECT_EQ(parse({"-port", "3000 "}).status, kind::error);
}

TEST(options, empty_config_flag_is_an_error) {
  auto r = parse({"-config="});
  ASSERT_EQ(r.status, kind::error);
  EXPECT_TRUE(contains(r.message, "-config")) << r.message;
}

// -- settings that depend on each other ---------------------------------------------------

TEST(options, write_quorum_must_not_exceed_replication_factor) {
  auto r = parse({"-replication-factor", "2", "-write-quorum", "3"});
  ASSERT_EQ(r.status, kind::error);
  EXPECT_TRUE(contains(r.message, "write-quorum (3)")) << r.message;
  EXPECT_TRUE(contains(r.message, "replication-factor (2)")) << r.message;
  // The default quorum (2) does not fit a factor of 1 either: nothing is adjusted silently.
  EXPECT_EQ(parse({"-replication-factor", "1"}).status, kind::error);
  EXPECT_EQ(parse({"-replication-factor", "1", "-write-quorum", "1"}).status, kind::ok);
  // Order in a file does not matter: the check runs after every line.
  auto f = parse_config_text("write-quorum = 4\nreplication-factor = 5\n", "c.ini");
  EXPECT_EQ(f.status, kind::ok) << f.message;
  auto bad = parse_config_text("write-quorum = 4\n", "c.ini");
  ASSERT_EQ(bad.status, kind::error);
  EXPECT_TRUE(contains(bad.message, "c.ini")) << bad.message;
  EXPECT_TRUE(contains(bad.message, "write-quorum")) << bad.message;
}

TEST(options, authmode_other_than_none_requires_a_key) {
  for (std::string mode : {"writes", "all"}) {
    auto r = parse({"-authmode", mode});
    ASSERT_EQ(r.status, kind::error) << mode;
    EXPECT_TRUE(contains(r.message, "authmode '" + mode + "'")) << r.message;
    EXPECT_TRUE(contains(r.message, "auth")) << r.message;
    EXPECT_EQ(parse({"-authmode", mode, "-auth", ""}).status, kind::error);
    EXPECT_EQ(parse({"-authmode", mode, "-auth", "k"}).status, kind::ok);
  }
  EXPECT_EQ(parse({"-authmode", "none"}).status, kind::ok);
}

TEST(options, tls_files_come_as_a_set) {
  auto cert_only = parse({"-tls-cert", "c.pem"});
  ASSERT_EQ(cert_only.status, kind::error);
  EXPECT_TRUE(contains(cert_only.message, "tls-cert")) << cert_only.message;
  EXPECT_TRUE(contains(cert_only.message, "tls-key")) << cert_only.message;
  EXPECT_EQ(parse({"-tls-key", "k.pem"}).status, kind::error);
  auto ca_only = parse({"-tls-ca", "ca.pem"});
  ASSERT_EQ(ca_only.status, kind::error);
  EXPECT_TRUE(contains(ca_only.message, "tls-ca")) << ca_only.message;
  auto all = parse({"-tls-cert", "c.pem", "-tls-key", "k.pem", "-tls-ca", "ca.pem"});
  ASSERT_EQ(all.status, kind::ok) << all.message;
  EXPECT_EQ(all.options.tls_ca, "ca.pem");
  EXPECT_EQ(parse({"-tls-cert", "c.pem", "-tls-key", "k.pem"}).status, kind::ok);
}

// -- help ---------------------------------------------------------------------------------

TEST(options, help_flags_return_the_help_text) {
  for (std::string flag : {"-h", "--help", "-help", "--h"}) {
    auto r = parse({flag});
    ASSERT_EQ(r.status, kind::help) << flag;
    EXPECT_EQ(r.message, options_help());
  }
}

TEST(options, help_wins_over_other_arguments_and_errors) {
  EXPECT_EQ(parse({"-port", "3001", "-h"}).status, kind::help);
  EXPECT_EQ(parse({"-bogus", "-h"}).status, kind::help);
  EXPECT_EQ(parse({"-port", "x", "--help"}).status, kind::help);
  EXPECT_EQ(parse({"-config", "/nonexistent/x.ini", "-h"}).status, kind::help);
}

TEST(options, help_lists_every_option_with_its_default) {
  auto help = options_help();
  for (const auto& key : all_keys)
    EXPECT_TRUE(contains(help, "  -" + key + " ")) << "help lacks -" << key;
  for (const char* text :
       {"(default 3000)", "(default 0)", "(default \"./data\")", "(default none)", "(default 512)",
        "(default 50)", "(default \"0.0.0.0\")", "(default \"local\")", "(default 67108864)",
        "(default 4096)", "(default 10000)", "(default 3)", "(default 2)", "(default 2000)",
        "(default info)", "(default 100)", "(default \"\")"})
    EXPECT_TRUE(contains(help, text)) << "help lacks " << text;
  EXPECT_TRUE(contains(help, "CLUSTER_NODES")) << help;
  EXPECT_TRUE(contains(help, "-config FILE")) << help;
  EXPECT_TRUE(contains(help, "key = value")) << help;
  EXPECT_TRUE(contains(help, "-h, -help")) << help;
  // One line per option plus the header and trailer: each option shows its meaning.
  std::istringstream lines(help);
  std::size_t option_lines = 0;
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("  -", 0) == 0 && contains(line, "(default ")) ++option_lines;
  EXPECT_EQ(option_lines, all_keys.size());
}

// -- config text --------------------------------------------------------------------------

TEST(options, every_key_can_be_set_from_a_config_file) {
  std::string text = "[minivault]\n";
  for (const auto& [key, value] : non_defaults)
    text += key + " = " + value + "\n";
  auto r = parse_config_text(text, "all.ini");
  ASSERT_EQ(r.status, kind::ok) << r.message;
  expect_non_defaults(r.options);
}

TEST(options, empty_and_comment_only_text_gives_the_base) {
  auto r = parse_config_text("", "empty.ini");
  ASSERT_EQ(r.status, kind::ok) << r.message;
  expect_defaults(r.options);
  node_options base;
  base.port = 4000;
  auto c = parse_config_text("# only\n; comments\n\n   \n[section]\n", "c.ini", base);
  ASSERT_EQ(c.status, kind::ok) << c.message;
  EXPECT_EQ(c.options.port, 4000);
}

TEST(options, config_syntax_details) {
  auto r = parse_config_text("  port=3001  \r\n"
                             "\t[ any section ]\n"
                             "auth = \"a \\\"quoted\\\" # key; \\\\ \"   # trailing comment\n"
                             "public-url = localhost:3001   # where peers reach me\n"
                             "region = eu;west ; the ; is part of the word before\n"
                             "node-id =\n"
                             "bind = \"\"\n"
                             "data = ./my data dir\n",
                             "syntax.ini");
  // bind = "" is an empty bind address, which is refused: check that first.
  ASSERT_EQ(r.status, kind::error);
  EXPECT_TRUE(contains(r.message, "syntax.ini:7: invalid value for 'bind'")) << r.message;

  auto ok = parse_config_text("  port=3001  \r\n"
                              "\t[ any section ]\n"
                              "auth = \"a \\\"quoted\\\" # key; \\\\ \"   # trailing comment\n"
                              "public-url = localhost:3001   # where peers reach me\n"
                              "region = eu;west ; the ; is part of the word before\n"
                              "node-id =\n"
                              "data = ./my data dir\n",
                              "syntax.ini");
  ASSERT_EQ(ok.status, kind::ok) << ok.message;
  EXPECT_EQ(ok.options.port, 3001);
  EXPECT_EQ(ok.options.auth_key, "a \"quoted\" # key; \\ ");
  EXPECT_EQ(ok.options.public_url, "localhost:3001");
  EXPECT_EQ(ok.options.region, "eu;west");
  EXPECT_EQ(ok.options.node_name, "");
  EXPECT_EQ(ok.options.data_dir, "./my data dir");
}

TEST(options, unknown_key_names_file_line_and_key) {
  auto r = parse_config_text("port = 3001\n\n# x\n\n\n\nprot = 3001\n", "config.ini");
  ASSERT_EQ(r.status, kind::error);
  EXPECT_EQ(r.message, "config.ini:7: unknown key 'prot'");
  // Keys are case-sensitive and written without dashes.
  EXPECT_EQ(parse_config_text("Port = 1\n", "c.ini").status, kind::error);
  auto dashed = parse_config_text("-port = 1\n", "c.ini");
  ASSERT_EQ(dashed.status, kind::error);
  EXPECT_TRUE(contains(dashed.message, "c.ini:1: unknown key '-port'")) << dashed.message;
}

TEST(options, line_without_equals_is_an_error) {
  auto r = parse_config_text("[minivault]\nport 3001\n", "c.ini");
  ASSERT_EQ(r.status, kind::error);
  EXPECT_TRUE(contains(r.message, "c.ini:2: ")) << r.message;
  EXPECT_TRUE(contains(r.message, "port")) << r.message;
  EXPECT_TRUE(contains(r.message, "'='")) << r.message;
  auto no_key = parse_config_text("\n = 3\n", "c.ini");
  ASSERT_EQ(no_key.status, kind::error);
  EXPECT_TRUE(contains(no_key.message, "c.ini:2: ")) << no_key.message;
}

TEST(options, duplicate_key_is_an_error) {
  auto r = parse_config_text("port = 3001\nhttp = 1\nport = 3001\n", "c.ini");
  ASSERT_EQ(r.status, kind::error);
  EXPECT_TRUE(contains(r.message, "c.ini:3: duplicate key 'port'")) << r.message;
  EXPECT_TRUE(contains(r.message, "line 1")) << r.message;
}

TEST(options, config_key_inside_a_file_is_an_error) {
  auto r = parse_config_text("config = other.ini\n", "c.ini");
  ASSERT_EQ(r.status, kind::error);
  EXPECT_TRUE(contains(r.message, "c.ini:1: ")) << r.message;
  EXPECT_TRUE(contains(r.message, "'config'")) << r.message;
}

TEST(options, malformed_lines_are_errors) {
  struct {
    const char* text;
    const char* fragment;
  } cases[] = {
      {"[minivault\n", "c.ini:1: malformed section header"},
      {"auth = \"open\n", "c.ini:1: invalid value for 'auth': missing closing quote"},
      {"auth = \"a\" b\n", "c.ini:1: invalid value for 'auth': unexpected text"},
      {"port = 3001 3002\n", "c.ini:1: invalid value for 'port'"},
  };
  for (const auto& c : cases) {
    auto r = parse_config_text(c.text, "c.ini");
    ASSERT_EQ(r.status, kind::error) << c.text;
    EXPECT_TRUE(contains(r.message, c.fragment)) << r.message;
  }
}

TEST(options, config_text_builds_on_the_base) {
  node_options base;
  base.auth_key = "from-base";
  auto r = parse_config_text("authmode = all\n", "c.ini", base);
  ASSERT_EQ(r.status, kind::ok) << r.message;
  EXPECT_EQ(r.options.auth, auth_mode::all);
  EXPECT_EQ(r.options.auth_key, "from-base");
  EXPECT_EQ(parse_config_text("authmode = all\n", "c.ini").status, kind::error);
}

// -- real files, precedence and the environment ------------------------------------------

TEST_F(options_files, config_file_is_loaded_with_dash_config) {
  auto path = write("node.ini", "[minivault]\nport = 3001\npublic-url = \"localhost:3001\"\n"
                                "cluster-nodes = localhost:3002,localhost:3003\n"
                                "data = ./data1\nfsync = always\n");
  auto r = parse({"-config", path});
  ASSERT_EQ(r.status, kind::ok) << r.message;
  EXPECT_EQ(r.options.config_file, path);
  EXPECT_EQ(r.options.port, 3001);
  EXPECT_EQ(r.options.public_url, "localhost:3001");
  EXPECT_EQ(r.options.data_dir, "./data1");
  EXPECT_EQ(r.options.fsync, fsync_policy::always);
  EXPECT_EQ(r.options.peers, peers({{"localhost", 3002}, {"localhost", 3003}}));
}

TEST_F(options_files, every_key_can_be_set_from_a_real_file) {
  std::string text;
  for (const auto& [key, value] : non_defaults)
    text += key + " = " + value + "\n";
  auto r = parse({"--config=" + write("all.ini", text)});
  ASSERT_EQ(r.status, kind::ok) << r.message;
  expect_non_defaults(r.options);
}

TEST_F(options_files, flags_override_the_file_wherever_config_appears) {
  auto path = write("c.ini", "port = 3001\nhttp = 8001\ncache = 64\n"
                             "cluster-nodes = a:1\n");
  for (auto args : std::vector<std::vector<std::string>>{
           {"-config", path, "-port", "4001", "-cluster-nodes", "b:2"},
           {"-port", "4001", "-config", path, "-cluster-nodes=b:2"},
           {"-port=4001", "-cluster-nodes", "b:2", "--config", path}}) {
    auto r = parse(args);
    ASSERT_EQ(r.status, kind::ok) << r.message;
    EXPECT_EQ(r.options.port, 4001);      // flag
    EXPECT_EQ(r.options.http_port, 8001); // file
    EXPECT_EQ(r.options.cache_mb, 64u);   // file
    EXPECT_EQ(r.options.workers, 50u);    // default
    EXPECT_EQ(r.options.peers, peers({{"b", 2}}));
  }
}

TEST_F(options_files, a_flag_completes_a_file_for_cross_checks) {
  auto path = write("c.ini", "authmode = writes\nreplication-factor = 1\n");
  EXPECT_EQ(parse({"-config", path}).status, kind::error);
  auto r = parse({"-config", path, "-auth", "k", "-write-quorum", "1"});
  ASSERT_EQ(r.status, kind::ok) << r.message;
  EXPECT_EQ(r.options.auth, auth_mode::writes);
  EXPECT_EQ(r.options.write_quorum, 1u);
}

TEST_F(options_files, the_last_config_flag_wins) {
  auto a = write("a.ini", "port = 3001\n");
  auto b = write("b.ini", "port = 3002\n");
  auto r = parse({"-config", a, "-config", b});
  ASSERT_EQ(r.status, kind::ok) << r.message;
  EXPECT_EQ(r.options.port, 3002);
  EXPECT_EQ(r.options.config_file, b);
}

TEST_F(options_files, file_errors_name_the_file_and_line) {
  auto path = write("bad.ini", "[minivault]\nport = 3001\n\nworkers = 0\n");
  auto r = parse({"-config", path});
  ASSERT_EQ(r.status, kind::error);
  EXPECT_TRUE(contains(r.message, path + ":4: invalid value for 'workers'")) << r.message;
  // A flag cannot rescue a bad file: the file is refused as a whole.
  EXPECT_EQ(parse({"-config", path, "-workers", "5"}).status, kind::error);
}

TEST_F(options_files, crlf_files_are_read) {
  auto path = write("win.ini", "[minivault]\r\nport = 3009\r\nregion = us\r\n");
  auto r = parse({"-config", path});
  ASSERT_EQ(r.status, kind::ok) << r.message;
  EXPECT_EQ(r.options.port, 3009);
  EXPECT_EQ(r.options.region, "us");
}

TEST_F(options_files, missing_or_unreadable_config_file_is_an_error) {
  auto missing = (dir_ / "nope.ini").string();
  auto r = parse({"-config", missing});
  ASSERT_EQ(r.status, kind::error);
  EXPECT_TRUE(contains(r.message, "-config")) << r.message;
  EXPECT_TRUE(contains(r.message, missing)) << r.message;
  auto is_dir = parse({"-config", dir_.string()});
  ASSERT_EQ(is_dir.status, kind::error);
  EXPECT_TRUE(contains(is_dir.message, dir_.string())) << is_dir.message;
}

TEST_F(options_files, oversized_config_file_is_refused) {
  std::string big(2u << 20, '#');
  auto r = parse({"-config", write("big.ini", big)});
  ASSERT_EQ(r.status, kind::error);
  EXPECT_TRUE(contains(r.message, "larger than")) << r.message;
}

TEST_F(options_files, cluster_nodes_env_overrides_file_and_flag_peers) {
  auto path = write("c.ini", "cluster-nodes = a:1\n");
  auto r = parse({"-config", path, "-cluster-nodes", "b:2"}, " x:7 , y:8 ");
  ASSERT_EQ(r.status, kind::ok) << r.message;
  EXPECT_EQ(r.options.peers, peers({{"x", 7}, {"y", 8}}));
  auto from_file = parse({"-config", path}, "z:9");
  ASSERT_EQ(from_file.status, kind::ok) << from_file.message;
  EXPECT_EQ(from_file.options.peers, peers({{"z", 9}}));
}

TEST_F(options_files, empty_cluster_nodes_env_is_ignored) {
  auto path = write("c.ini", "cluster-nodes = a:1\n");
  for (const char* env : {"", "  ", static_cast<const char*>(nullptr)}) {
    auto r = parse({"-config", path}, env);
    ASSERT_EQ(r.status, kind::ok) << r.message;
    EXPECT_EQ(r.options.peers, peers({{"a", 1}}));
  }
}

TEST(options, bad_cluster_nodes_env_is_named) {
  auto r = parse({}, "localhost:3002,localhost");
  ASSERT_EQ(r.status, kind::error);
  EXPECT_TRUE(contains(r.message, "CLUSTER_NODES")) << r.message;
  EXPECT_TRUE(contains(r.message, "'localhost'")) << r.message;
}

// -- peer lists ---------------------------------------------------------------------------

TEST(peer_list, parses_hosts_and_ports) {
  auto out = parse_peer_list("localhost:3002,10.0.0.2:65535, node-3.example:1");
  ASSERT_TRUE(out) << out.error().reason();
  EXPECT_EQ(*out, peers({{"localhost", 3002}, {"10.0.0.2", 65535}, {"node-3.example", 1}}));
}

TEST(peer_list, tolerates_whitespace_and_empty_entries) {
  auto out = parse_peer_list(" \ta:1 ,, ,b:2,\n");
  ASSERT_TRUE(out) << out.error().reason();
  EXPECT_EQ(*out, peers({{"a", 1}, {"b", 2}}));
  node_options base;
  for (const char* empty : {"", " ", ",", " , ,"}) {
    auto none = parse_peer_list(empty);
    ASSERT_TRUE(none) << empty;
    EXPECT_TRUE(none->empty()) << "'" << empty << "'";
    base.peers = peers({{"stale", 1}});
    auto r = parse_config_text("cluster-nodes = \"" + std::string(empty) + "\"\n", "c.ini", base);
    ASSERT_EQ(r.status, kind::ok) << r.message;
    EXPECT_TRUE(r.options.peers.empty()) << "'" << empty << "' replaces the list";
  }
}

TEST(peer_list, drops_duplicates) {
  auto out = parse_peer_list("a:1,b:2,a:1");
  ASSERT_TRUE(out) << out.error().reason();
  EXPECT_EQ(*out, peers({{"a", 1}, {"b", 2}}));
}

TEST(peer_list, accepts_bracketed_ipv6) {
  auto out = parse_peer_list("[::1]:3002,[fe80::1]:3003");
  ASSERT_TRUE(out) << out.error().reason();
  EXPECT_EQ(*out, peers({{"::1", 3002}, {"fe80::1", 3003}}));
  auto unbracketed = parse_peer_list("::1:3002");
  EXPECT_FALSE(unbracketed);
  EXPECT_TRUE(contains(unbracketed.error().reason(), "'::1:3002'")) << unbracketed.error().reason();
}

// The old out-parameter form also had to leave its output alone on failure; a result
// holds no list at all then, so what remains to check is the error.
TEST(peer_list, bad_entries_are_named) {
  for (std::string bad : {"localhost", "localhost:", ":3002", "h:0", "h:65536", "h:x", "h:30 02",
                          "h:-1", "h:+5", "my host:1", "[]:1", "h:99999999999999999999"}) {
    auto out = parse_peer_list("ok:1, " + bad + " ,ok:2");
    EXPECT_FALSE(out) << bad;
    EXPECT_EQ(out.error().code(), errc::config_error) << bad;
    EXPECT_TRUE(contains(out.error().reason(), "'" + bad + "'"))
        << bad << ": " << out.error().reason();
  }
}

TEST(peer_list, an_entry_may_name_its_region) {
  auto out = parse_peer_list("a:1@eu-west, b:2 ,[::1]:3@us");
  ASSERT_TRUE(out) << out.error().reason();
  ASSERT_EQ(out->size(), 3u);
  EXPECT_EQ((*out)[0].region, "eu-west");
  EXPECT_EQ((*out)[1].region, "") << "no region: this node's";
  EXPECT_EQ((*out)[2].host, "::1");
  EXPECT_EQ((*out)[2].region, "us");
  // The list as -h and the config writer show it reads back the same.
  node_options o;
  auto r = parse_config_text("cluster-nodes = \"a:1@eu-west,b:2\"\n", "c.ini", o);
  ASSERT_EQ(r.status, kind::ok) << r.message;
  ASSERT_EQ(r.options.peers.size(), 2u);
  EXPECT_EQ(r.options.peers[0].region, "eu-west");
  EXPECT_EQ(r.options.peers[1].region, "");
}

TEST(peer_list, a_host_with_an_at_sign_or_a_control_character_is_refused) {
  // Written back as host:port@region, such a host would read as another peer (found by
  // the config fuzz target: a host holding '@' and NUL bytes).
  EXPECT_FALSE(parse_peer_list("a@b:1")); // (read as host a, region "b:1": no port)
  std::string control = "a?b:1@r";
  control[1] = '\x01';
  const std::vector<std::string> bads = {"a@b:1@r", std::string("a\0b:1", 5), control, "a\x7f:1"};
  for (const std::string& bad : bads) {
    auto out = parse_peer_list(bad);
    ASSERT_FALSE(out) << bad;
    EXPECT_TRUE(contains(out.error().reason(), "invalid character in host"))
        << out.error().reason();
  }
}

TEST(peer_list, bad_regions_are_named) {
  for (std::string bad : {"h:1@", "h:1@a b", "h:1@x@y"}) {
    auto out = parse_peer_list("ok:1," + bad);
    EXPECT_FALSE(out) << bad;
    if (!out) {
      EXPECT_TRUE(contains(out.error().reason(), "'" + bad + "'"))
          << bad << ": " << out.error().reason();
    }
  }
  auto twice = parse_peer_list("a:1@eu,a:1@us");
  ASSERT_FALSE(twice);
  EXPECT_TRUE(contains(twice.error().reason(), "different regions")) << twice.error().reason();
}

TEST(peer_list, is_bounded) {
  std::string many;
  for (int i = 1; i <= 1025; ++i)
    many += "h" + std::to_string(i) + ":1,";
  auto out = parse_peer_list(many);
  EXPECT_FALSE(out);
  EXPECT_TRUE(contains(out.error().reason(), "too many")) << out.error().reason();
}

TEST(options, enum_names) {
  EXPECT_STREQ(to_string(fsync_policy::none), "none");
  EXPECT_STREQ(to_string(fsync_policy::interval), "interval");
  EXPECT_STREQ(to_string(fsync_policy::always), "always");
  EXPECT_STREQ(to_string(auth_mode::none), "none");
  EXPECT_STREQ(to_string(auth_mode::writes), "writes");
  EXPECT_STREQ(to_string(auth_mode::all), "all");
}

// -- the config files shipped in config/ ----------------------------------------------------

TEST(shipped_config, example_parses_and_documents_every_key_at_its_default) {
  auto dir = repo_config_dir();
  ASSERT_FALSE(dir.empty()) << "config/minivault.ini not found";
  auto path = (dir / "minivault.ini").string();
  auto r = parse({"-config", path});
  ASSERT_EQ(r.status, kind::ok) << r.message;
  expect_defaults(r.options);

  // Enabling every disabled (';') setting must still parse, give the defaults again
  // (the example tells the truth) and mention every key a file may hold.
  std::ifstream in(path);
  std::string line, enabled;
  std::vector<std::string> keys;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == ';') {
      line.erase(0, 1);
      keys.push_back(line.substr(0, line.find(' ')));
    }
    enabled += line + "\n";
  }
  auto all = parse_config_text(enabled, path);
  ASSERT_EQ(all.status, kind::ok) << all.message;
  expect_defaults(all.options);
  for (const auto& key : all_keys) {
    if (key == "config") continue;
    EXPECT_NE(std::find(keys.begin(), keys.end(), key), keys.end())
        << "minivault.ini lacks " << key;
  }
}

TEST(shipped_config, three_node_cluster_files_parse) {
  auto dir = repo_config_dir();
  ASSERT_FALSE(dir.empty()) << "config/minivault.ini not found";
  for (int n = 1; n <= 3; ++n) {
    auto path = (dir / ("node" + std::to_string(n) + ".ini")).string();
    auto r = parse({"-config", path});
    ASSERT_EQ(r.status, kind::ok) << path << ": " << r.message;
    const auto& o = r.options;
    std::string self = "localhost:300" + std::to_string(n);
    EXPECT_EQ(o.port, 3000 + n);
    EXPECT_EQ(o.data_dir, "./data" + std::to_string(n));
    EXPECT_EQ(o.public_url, self);
    ASSERT_EQ(o.peers.size(), 2u) << path;
    for (int m = 1; m <= 3; ++m) {
      peer_address other{"localhost", static_cast<std::uint16_t>(3000 + m)};
      bool listed = std::find(o.peers.begin(), o.peers.end(), other) != o.peers.end();
      EXPECT_EQ(listed, m != n) << path << " peer " << m;
    }
  }
}

TEST(Options, LabelsShownInHealthMustBeUtf8) {
  auto bad_region = parse({"-region", "Z\xfcrich"});
  EXPECT_EQ(bad_region.status, options_result::kind::error);
  EXPECT_NE(bad_region.message.find("region"), std::string::npos) << bad_region.message;
  EXPECT_NE(bad_region.message.find("UTF-8"), std::string::npos) << bad_region.message;
  auto bad_id = parse({"-node-id", "\xff"});
  EXPECT_EQ(bad_id.status, options_result::kind::error);
  auto file = parse_config_text("region = Z\xfcrich\n", "node.ini");
  EXPECT_EQ(file.status, options_result::kind::error);
  EXPECT_NE(file.message.find("node.ini:1"), std::string::npos) << file.message;
  auto good = parse({"-region", "Z\xc3\xbcrich", "-node-id",
                     "n\xc5\x8d"
                     "de"});
  EXPECT_EQ(good.status, options_result::kind::ok) << good.message;
}

TEST(Utf8, AcceptsValidAndRejectsMalformed) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain"));
  EXPECT_TRUE(valid_utf8("\xc3\xbc\xe2\x82\xac\xf0\x9f\x98\x80")); // ü € 😀
  EXPECT_FALSE(valid_utf8("\xfc"));                                // Latin-1
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));                            // overlong
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));                        // surrogate
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));                    // above U+10FFFF
  EXPECT_FALSE(valid_utf8("\xe2\x82"));                            // truncated
}
