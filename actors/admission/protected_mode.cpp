#include "actors/admission/protected_mode.hpp"

namespace minivault {

bool protected_mode_active(const node_options& o) noexcept {
  // An explicit -bind is the operator choosing who may connect (even -bind 0.0.0.0), and
  // a key means clients can be made to prove themselves: either turns the guard off.
  return o.protected_mode && o.auth_key.empty() && !o.bind_explicit;
}

bool client_allowed(bool protected_active, std::uint32_t ipv4) noexcept {
  if (!protected_active) return true;
  return (ipv4 >> 24) == 127; // 127.0.0.0/8, all of it loopback
}

std::string protected_mode_notice(const node_options& o) {
  if (!protected_mode_active(o)) {
    if (o.peers.empty() || !o.auth_key.empty()) return {};
    return "no -auth: any client or peer that reaches " + o.bind_address +
           " can read and write this cluster; give every node the same -auth KEY";
  }
  std::string text = "protected mode: no -auth and no -bind, so only loopback clients "
                     "(127.0.0.0/8) are served on " +
                     o.bind_address +
                     ", others are refused; give -auth KEY, -bind ADDR or -protected-mode "
                     "no to serve them";
  if (!o.peers.empty())
    text += " (peers too: the cluster port listens on 127.0.0.1, so nodes on other hosts "
            "cannot join; give every node the same -auth KEY)";
  return text;
}

} // namespace minivault
