#pragma once
// Peer authentication: both ends of a peer connection prove they hold the cluster secret
// (-auth) before the other accepts any of their messages. HMAC-SHA256 over a fresh
// random nonce, so the secret never crosses the wire and a recorded proof cannot be
// replayed (each nonce is accepted once).
//
//   connecting node A                          published node B
//   (challenge_atom, nonce_a)         ----->   nonce_b := random; proof_b := mac("server", nonce_a,
//   B)
//                                     <-----   (nonce_b, node_b, proof_b)
//   check proof_b (B knows the secret)
//   proof_a := mac("client", nonce_b, A)
//   (auth_atom, node_a, nonce_b, proof_a) -->  check proof_a; remember A's CAF node as trusted
//                                     <-----   true
#include <string>
#include <string_view>

namespace minivault {

/// 16 random bytes, hex-encoded (from the kernel's CSPRNG).
[[nodiscard]] std::string make_nonce();

/// hex(HMAC-SHA256(secret, "minivault-peer-v1|" + role + "|" + nonce + "|" + node_id)).
[[nodiscard]] std::string peer_proof(std::string_view secret, std::string_view role,
                                     std::string_view nonce, std::string_view node_id);

} // namespace minivault
