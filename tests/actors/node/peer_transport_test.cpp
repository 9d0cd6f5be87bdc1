// The peer transport (actors/node/caf_config.hpp) against a hazard of CAF 0.17's BASP: a
// connection is named by its socket's descriptor, and the clean-up of a closed one may
// run after a new connection has taken the same descriptor. Real actor systems in this
// process, real loopback sockets.
#include "actors/node/caf_config.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

namespace minivault {
namespace {

using namespace std::chrono_literals;

/// A system as a node builds it for a cluster (`make_caf_config`), with one scheduler
/// thread whatever the machine (what a node gets on two cores), so that a busy actor
/// holds up everything else scheduled.
struct test_system {
  // Declared first, so destroyed last: the system keeps a reference to it.
  std::unique_ptr<caf::actor_system_config> cfg;
  std::unique_ptr<caf::actor_system> sys;
  test_system() : cfg(make_caf_config(true, node_options{})) {
    cfg->set("scheduler.max-threads", std::uint64_t{1});
    sys = std::make_unique<caf::actor_system>(*cfg);
  }
  caf::actor_system* operator->() { return sys.get(); }
  caf::actor_system& operator*() { return *sys; }
};

/// Connects to 127.0.0.1:port and closes again, as a membership probe checks that a
/// peer's cluster port answers.
void touch_port(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  std::this_thread::sleep_for(50ms); // accepted, and the server's handshake is sent
  ::close(fd);
}

// The sequence that cut links while a six-node cluster formed (tests/wan
// formation_test): the server's only scheduler thread is busy while a peer's message is
// waiting to be delivered; a probe connects and closes; another peer connects at once and
// gets the probe's descriptor on the server. That peer must still get answers.
TEST(peer_transport, a_connection_closed_just_before_a_peer_connects_leaves_that_peer_a_route) {
  test_system server, sender;
  test_system dialer; // built up front: its own descriptors exist already
  auto echo = server->spawn([]() -> caf::behavior { return {[](int x) { return x + 1; }}; });
  auto busy = server->spawn(
      []() -> caf::behavior { return {[](caf::timespan t) { std::this_thread::sleep_for(t); }}; });
  auto port = server->middleman().publish(echo, 0, "127.0.0.1");
  ASSERT_TRUE(port) << server->render(port.error());
  auto from_sender = sender->middleman().remote_actor("127.0.0.1", *port);
  ASSERT_TRUE(from_sender) << sender->render(from_sender.error());

  caf::anon_send(busy, caf::timespan{1200ms}); // the server's scheduler thread sleeps
  std::this_thread::sleep_for(50ms);
  caf::anon_send(*from_sender, 1); // arrives, and waits for the scheduler
  std::this_thread::sleep_for(50ms);
  touch_port(*port);
  std::this_thread::sleep_for(50ms); // the server has seen the probe's connection close
  auto from_dialer = dialer->middleman().remote_actor("127.0.0.1", *port);
  ASSERT_TRUE(from_dialer) << dialer->render(from_dialer.error());
  std::this_thread::sleep_for(1500ms); // the scheduler is free again

  caf::scoped_actor self{*dialer};
  int answer = 0;
  std::string failure;
  self->request(*from_dialer, 3s, 41)
      .receive([&](int x) { answer = x; },
               [&](const caf::error& e) { failure = dialer->render(e); });
  EXPECT_EQ(answer, 42) << "the server had no route back to the peer that connected after "
                           "the probe: "
                        << failure;
  caf::anon_send_exit(busy, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(echo, caf::exit_reason::user_shutdown);
}

} // namespace
} // namespace minivault
