// Fuzz target: the binary protocol's reply parser (wire::parse_reply), fed a server's
// byte stream the way the C++ client reads it (client::exchange): reply after reply
// until one is incomplete or invalid.
//
// Checked for every input, beyond "no crash, no sanitizer report":
// - a complete reply lies inside the input, its payload inside the reply, and
//   append_reply re-encodes it to exactly the same bytes (decode/encode pair);
// - every shorter prefix of a reply is need_more, and once complete or invalid the
//   result stays the same as bytes arrive;
// - a payload over the client's bound is invalid/too_large from the header alone.
// Input: the raw stream (corpus files are real reply frames). Run with -max_len=4096.
#include <string>

#include "fuzz_input.hpp"
#include "protocol/wire.hpp"

namespace {

using namespace minivault;

// Small, so that the too_large branch is reached by short inputs too.
constexpr std::size_t payload_max = 1024;

bool same(const wire::reply_result& a, const wire::reply_result& b) {
  return a.state == b.state && a.consumed == b.consumed && a.error == b.error &&
         a.rep.status == b.rep.status && a.rep.payload.size() == b.rep.payload.size();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const char* data = reinterpret_cast<const char*>(bytes);
  std::size_t pos = 0;
  while (pos < size) {
    const char* at = data + pos;
    const std::size_t len = size - pos;
    auto r = wire::parse_reply(at, len, payload_max);
    // The fewest bytes that decide the reply: below it, every prefix is need_more.
    std::size_t decided = len;
    if (r.state == wire::parse_state::complete) decided = r.consumed;
    if (r.state == wire::parse_state::invalid) decided = wire::reply_header_bytes;
    for (std::size_t k = 0; k < decided; ++k)
      FUZZ_CHECK(wire::parse_reply(at, k, payload_max).state == wire::parse_state::need_more);
    if (r.state == wire::parse_state::need_more) {
      FUZZ_CHECK(r.consumed == 0 && r.error == errc::ok);
      break;
    }
    for (std::size_t k = decided; k <= std::min(len, decided + 16); ++k)
      FUZZ_CHECK(same(wire::parse_reply(at, k, payload_max), r));
    if (r.state == wire::parse_state::invalid) {
      FUZZ_CHECK(r.error == errc::too_large && r.consumed == 0);
      FUZZ_CHECK(wire::load_u32(at + 1) > payload_max);
      break;
    }
    FUZZ_CHECK(r.consumed == wire::reply_header_bytes + r.rep.payload.size() && r.consumed <= len);
    FUZZ_CHECK(r.rep.payload.data() == at + wire::reply_header_bytes);
    FUZZ_CHECK(r.rep.payload.size() <= payload_max);
    std::string again;
    wire::append_reply(again, r.rep.status, r.rep.payload);
    FUZZ_CHECK(again == std::string_view(at, r.consumed));
    pos += r.consumed;
  }
  return 0;
}
