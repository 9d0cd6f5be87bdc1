// The auth rule both client protocols ask (protocol/auth_rule.hpp): every mode, with and
// without a key, for every access class.
#include <gtest/gtest.h>

#include "protocol/auth_rule.hpp"

namespace minivault {
namespace {

TEST(auth_rule, modes_guard_what_they_name) {
  EXPECT_FALSE(needs_credential(auth_mode::none, true, access::read));
  EXPECT_FALSE(needs_credential(auth_mode::none, true, access::write));
  EXPECT_FALSE(needs_credential(auth_mode::writes, true, access::read));
  EXPECT_TRUE(needs_credential(auth_mode::writes, true, access::write));
  EXPECT_TRUE(needs_credential(auth_mode::all, true, access::read));
  EXPECT_TRUE(needs_credential(auth_mode::all, true, access::write));
}

TEST(auth_rule, open_requests_and_nodes_without_a_key_never_ask) {
  for (auth_mode m : {auth_mode::none, auth_mode::writes, auth_mode::all}) {
    EXPECT_FALSE(needs_credential(m, true, access::open));
    for (access a : {access::open, access::read, access::write})
      EXPECT_FALSE(needs_credential(m, false, a));
  }
}

} // namespace
} // namespace minivault
