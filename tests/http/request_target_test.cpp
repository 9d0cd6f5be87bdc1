// Routing from the raw request target, percent-decoding and the Bearer check.
#include "http/request_target.hpp"

#include <gtest/gtest.h>

namespace minivault::http {
namespace {

TEST(request_target, endpoints_are_only_their_literal_targets) {
  EXPECT_EQ(parse_target("/health").kind, target_kind::health);
  EXPECT_EQ(parse_target("/health?verbose=1").kind, target_kind::health);
  EXPECT_EQ(parse_target("/metrics").kind, target_kind::metrics);
  // Any other spelling is a key: the endpoints never shadow one.
  auto h = parse_target("/%68ealth");
  ASSERT_EQ(h.kind, target_kind::key);
  EXPECT_EQ(h.key, "health");
  auto m = parse_target("/metric%73");
  ASSERT_EQ(m.kind, target_kind::key);
  EXPECT_EQ(m.key, "metrics");
  EXPECT_EQ(parse_target("/health/").kind, target_kind::key);
  EXPECT_EQ(parse_target("/Health").kind, target_kind::key);
}

TEST(request_target, key_is_the_decoded_path_after_the_first_slash) {
  EXPECT_EQ(parse_target("/user:1").key, "user:1");
  EXPECT_EQ(parse_target("/a/b/c").key, "a/b/c");
  EXPECT_EQ(parse_target("/a%2Fb").key, "a/b");
  EXPECT_EQ(parse_target("/a%2fb").key, "a/b");
  EXPECT_EQ(parse_target("/a+b").key, "a+b"); // '+' is not a space in a path
  EXPECT_EQ(parse_target("/a%20b").key, "a b");
  EXPECT_EQ(parse_target("/%E6%97%A5").key, "\xE6\x97\xA5");
  EXPECT_EQ(parse_target("/%00x").key, std::string("\0x", 2));
  EXPECT_EQ(parse_target("//x").key, "/x");
  EXPECT_EQ(parse_target("/k?x=1&y=2").key, "k"); // the query is not part of the key
  EXPECT_EQ(parse_target("/k%3Fx").key, "k?x");
}

TEST(request_target, invalid_targets_say_why) {
  EXPECT_EQ(parse_target("/").kind, target_kind::invalid);
  EXPECT_EQ(parse_target("/?x=1").kind, target_kind::invalid);
  EXPECT_EQ(parse_target("").kind, target_kind::invalid);
  EXPECT_EQ(parse_target("http://host/k").kind, target_kind::invalid);
  EXPECT_EQ(parse_target("*").kind, target_kind::invalid);
  for (const char* bad : {"/a%", "/a%2", "/a%zz", "/a%g0", "/%%41"}) {
    auto t = parse_target(bad);
    EXPECT_EQ(t.kind, target_kind::invalid) << bad;
    EXPECT_NE(t.error.find("percent"), std::string::npos) << bad;
  }
  auto t = parse_target("/" + std::string(65536, 'k'));
  EXPECT_EQ(t.kind, target_kind::invalid);
  EXPECT_NE(t.error.find("65535"), std::string::npos);
  EXPECT_EQ(parse_target("/" + std::string(65535, 'k')).kind, target_kind::key);
}

TEST(request_target, bearer_matches_only_the_whole_key) {
  EXPECT_TRUE(bearer_matches("Bearer s3cret", "s3cret"));
  EXPECT_TRUE(bearer_matches("bearer s3cret", "s3cret"));
  EXPECT_TRUE(bearer_matches("BEARER   s3cret ", "s3cret"));
  EXPECT_FALSE(bearer_matches("Bearer s3cre", "s3cret"));
  EXPECT_FALSE(bearer_matches("Bearer s3crett", "s3cret"));
  EXPECT_FALSE(bearer_matches("Bearer S3cret", "s3cret"));
  EXPECT_FALSE(bearer_matches("Basic s3cret", "s3cret"));
  EXPECT_FALSE(bearer_matches("Bearers3cret", "s3cret"));
  EXPECT_FALSE(bearer_matches("s3cret", "s3cret"));
  EXPECT_FALSE(bearer_matches("", "s3cret"));
  EXPECT_FALSE(bearer_matches("Bearer ", "s3cret"));
}

} // namespace
} // namespace minivault::http
