#include "actors/cluster/membership/peer_auth.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "protocol/assert.hpp"

namespace minivault {

namespace {

std::string hex(const unsigned char* p, std::size_t n) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(digits[p[i] >> 4]);
    out.push_back(digits[p[i] & 15]);
  }
  return out;
}

} // namespace

std::string make_nonce() {
  unsigned char bytes[16];
  KV_ASSERT(RAND_bytes(bytes, sizeof(bytes)) == 1);
  return hex(bytes, sizeof(bytes));
}

std::string peer_proof(std::string_view secret, std::string_view role, std::string_view nonce,
                       std::string_view node_id) {
  std::string message = "minivault-peer-v1|";
  message.append(role).append("|").append(nonce).append("|").append(node_id);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  unsigned char* ok =
      HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
  KV_ASSERT(ok != nullptr);
  return hex(mac, len);
}

} // namespace minivault
