#include "tests/support/test_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ostream>

#include "protocol/limits.hpp"

namespace minivault::test {

using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

namespace {

/// Replies never legitimately exceed the largest configurable value.
constexpr std::size_t reply_payload_bytes_max = value_bytes_max_ceiling;
constexpr std::size_t recv_chunk_bytes = 256u << 10;

void set_timeout(int fd, int option, milliseconds t) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(t.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((t.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, option, &tv, sizeof(tv));
}

} // namespace

std::string printable(std::string_view bytes, std::size_t max_bytes) {
  std::string out;
  std::size_t n = bytes.size() < max_bytes ? bytes.size() : max_bytes;
  for (std::size_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02X", c);
      out += buf;
    }
  }
  if (n < bytes.size()) out += "...(" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

std::ostream& operator<<(std::ostream& out, const reply& r) {
  if (!r.io_ok) return out << "{no reply: connection closed, timed out or unframeable}";
  char st[8];
  std::snprintf(st, sizeof(st), "0x%02X", r.status);
  return out << "{status " << st << ", " << r.payload.size() << " bytes \"" << printable(r.payload)
             << "\"}";
}

std::string zstd_compress(std::string_view data, int level, bool record_content_size) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  if (cctx == nullptr) return {};
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, record_content_size ? 1 : 0);
  std::string out(ZSTD_compressBound(data.size()), '\0');
  std::size_t n = ZSTD_compress2(cctx, out.data(), out.size(), data.data(), data.size());
  ZSTD_freeCCtx(cctx);
  if (ZSTD_isError(n)) return {};
  out.resize(n);
  return out;
}

test_client::test_client(std::uint16_t port, milliseconds io_timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  set_timeout(fd, SO_RCVTIMEO, io_timeout);
  set_timeout(fd, SO_SNDTIMEO, io_timeout); // on Linux this bounds connect() as well
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return;
  }
  fd_ = fd;
}

test_client::~test_client() {
  close();
}

void test_client::close(bool reset) {
  if (fd_ < 0) return;
  if (reset) {
    linger lg{};
    lg.l_onoff = 1;
    lg.l_linger = 0;
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  }
  ::close(fd_);
  fd_ = -1;
}

reply test_client::get(std::string_view key) {
  std::string frame;
  wire::append_request(frame, wire::opcode::get, key);
  if (!send_raw(frame)) return {};
  return read_reply();
}

reply test_client::set(std::string_view key, std::string_view value, bool compressed) {
  std::string frame;
  frame.reserve(key.size() + value.size() + 16);
  wire::append_request(frame, wire::opcode::set, key, value, compressed);
  if (!send_raw(frame)) return {};
  return read_reply();
}

reply test_client::del(std::string_view key) {
  std::string frame;
  wire::append_request(frame, wire::opcode::del, key);
  if (!send_raw(frame)) return {};
  return read_reply();
}

reply test_client::health(std::string_view key) {
  std::string frame;
  wire::append_request(frame, wire::opcode::health, key);
  if (!send_raw(frame)) return {};
  return read_reply();
}

reply test_client::auth(std::string_view key) {
  std::string frame;
  wire::append_request(frame, wire::opcode::auth, key);
  if (!send_raw(frame)) return {};
  return read_reply();
}

bool test_client::send_raw(std::string_view bytes) {
  if (fd_ < 0) return false;
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::send(fd_, p, left, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return true;
}

bool test_client::fill() {
  if (fd_ < 0 || peer_closed_) return false;
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  } else if (in_pos_ > (4u << 20)) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  std::size_t old = in_.size();
  in_.resize(old + recv_chunk_bytes);
  ssize_t n;
  do {
    n = ::recv(fd_, in_.data() + old, recv_chunk_bytes, 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    in_.resize(old);
    if (n == 0 || errno == ECONNRESET) peer_closed_ = true;
    return false;
  }
  in_.resize(old + static_cast<std::size_t>(n));
  return true;
}

reply test_client::read_reply() {
  while (true) {
    auto r = wire::parse_reply(in_.data() + in_pos_, in_.size() - in_pos_, reply_payload_bytes_max);
    if (r.state == wire::parse_state::complete) {
      reply out;
      out.io_ok = true;
      out.status = r.rep.status;
      out.payload.assign(r.rep.payload.data(), r.rep.payload.size());
      in_pos_ += r.consumed;
      return out;
    }
    if (r.state == wire::parse_state::invalid) return {};
    if (!fill()) return {};
  }
}

std::string test_client::read_exact(std::size_t n) {
  while (in_.size() - in_pos_ < n) {
    if (!fill()) break;
  }
  std::size_t take = std::min(n, in_.size() - in_pos_);
  std::string out = in_.substr(in_pos_, take);
  in_pos_ += take;
  return out;
}

bool test_client::is_closed_by_peer(milliseconds timeout) {
  if (peer_closed_) return true;
  if (fd_ < 0) return false;
  auto deadline = clock_type::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - clock_type::now());
    if (left.count() < 0) return false;
    pollfd p{fd_, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left.count()));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return false;
    if (rc == 0) return false; // timed out with the connection still open
    // Readable: data (kept for read_reply), EOF or a reset.
    if (!fill()) return peer_closed_;
  }
}

} // namespace minivault::test
