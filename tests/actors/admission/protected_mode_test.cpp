// Protected mode's decisions as pure functions: when it is on, and which client
// addresses it lets in. tests/actors/admission/protected_mode_netns.sh checks the same over real
// sockets from a non-loopback address.
#include "actors/admission/protected_mode.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace minivault {
namespace {

std::uint32_t ip(const char* text) {
  in_addr a{};
  EXPECT_EQ(::inet_pton(AF_INET, text, &a), 1) << text;
  return ntohl(a.s_addr);
}

options_result parse(std::vector<std::string> args) {
  std::vector<const char*> argv{"minivault"};
  for (auto& a : args)
    argv.push_back(a.c_str());
  return parse_options(static_cast<int>(argv.size()), argv.data(), nullptr);
}

bool active_for(std::vector<std::string> args) {
  auto r = parse(std::move(args));
  EXPECT_EQ(r.status, options_result::kind::ok) << r.message;
  return protected_mode_active(r.options);
}

TEST(protected_mode, on_by_default_off_with_auth_bind_or_no) {
  EXPECT_TRUE(active_for({}));
  EXPECT_TRUE(active_for({"-protected-mode", "yes"}));
  EXPECT_TRUE(active_for({"-http", "8080", "-authmode", "none"}));
  EXPECT_FALSE(active_for({"-protected-mode", "no"}));
  EXPECT_FALSE(active_for({"-auth", "k"}));
  EXPECT_FALSE(active_for({"-bind", "0.0.0.0"})); // explicit, even to the default
  EXPECT_FALSE(active_for({"-bind", "127.0.0.1"}));
  // Peers do not turn it off: an unauthenticated cluster on every interface is what it
  // guards against.
  EXPECT_TRUE(active_for({"-cluster-nodes", "10.0.0.2:3000", "-public-url", "10.0.0.1:3000"}));
  EXPECT_FALSE(active_for(
      {"-cluster-nodes", "10.0.0.2:3000", "-public-url", "10.0.0.1:3000", "-bind", "10.0.0.1"}));
  auto file = parse_config_text("bind = 0.0.0.0\n", "node.ini");
  ASSERT_EQ(file.status, options_result::kind::ok) << file.message;
  EXPECT_FALSE(protected_mode_active(file.options));
  auto off = parse_config_text("protected-mode = no\n", "node.ini");
  ASSERT_EQ(off.status, options_result::kind::ok) << off.message;
  EXPECT_FALSE(protected_mode_active(off.options));
}

TEST(protected_mode, bad_values_are_refused_by_name) {
  auto r = parse({"-protected-mode", "off"});
  ASSERT_EQ(r.status, options_result::kind::error);
  EXPECT_NE(r.message.find("protected-mode"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("no|yes"), std::string::npos) << r.message;
}

TEST(protected_mode, only_loopback_clients_while_active) {
  for (const char* a : {"127.0.0.1", "127.0.0.2", "127.255.255.254", "127.0.0.0"})
    EXPECT_TRUE(client_allowed(true, ip(a))) << a;
  for (const char* a : {"10.0.0.1", "192.168.1.5", "172.17.0.1", "0.0.0.0", "128.0.0.1",
                        "126.255.255.255", "255.255.255.255"})
    EXPECT_FALSE(client_allowed(true, ip(a))) << a;
  for (const char* a : {"10.0.0.1", "127.0.0.1", "203.0.113.9"})
    EXPECT_TRUE(client_allowed(false, ip(a))) << a;
}

TEST(protected_mode, notice_and_refusal_say_how_to_turn_it_off) {
  node_options o;
  auto notice = protected_mode_notice(o);
  EXPECT_NE(notice.find("loopback"), std::string::npos) << notice;
  EXPECT_NE(notice.find("-protected-mode no"), std::string::npos) << notice;
  EXPECT_NE(notice.find("0.0.0.0"), std::string::npos) << notice;
  o.protected_mode = false;
  EXPECT_EQ(protected_mode_notice(o), "");
  // A protected clustered node says that peers on other hosts cannot join.
  o.protected_mode = true;
  o.peers.push_back({"10.0.0.2", 3000});
  auto cluster_notice = protected_mode_notice(o);
  EXPECT_NE(cluster_notice.find("cannot join"), std::string::npos) << cluster_notice;
  // Not protected (-protected-mode no) and no key: a warning.
  o.protected_mode = false;
  auto open_notice = protected_mode_notice(o);
  EXPECT_NE(open_notice.find("-auth KEY"), std::string::npos) << open_notice;
  o.auth_key = "k";
  EXPECT_EQ(protected_mode_notice(o), "");
  for (const char* how : {"-auth KEY", "-bind ADDR", "-protected-mode no"})
    EXPECT_NE(protected_mode_refusal.find(how), std::string_view::npos) << how;
}

} // namespace
} // namespace minivault
