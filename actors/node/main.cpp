// minivault: parse options, start a node, serve until SIGINT/SIGTERM, stop in order.
// A watchdog ends the process if an orderly stop hangs (every acknowledged write is
// already durable, so exiting is safe).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "actors/node/node.hpp"
#include "actors/telemetry/log.hpp"
#include "http/codec.hpp"
#include "protocol/limits.hpp"
#include "protocol/options.hpp"

int main(int argc, char** argv) {
  using namespace minivault;
  auto parsed = parse_options(argc, argv, std::getenv("CLUSTER_NODES"));
  if (parsed.status == options_result::kind::help) {
    std::fputs(parsed.message.c_str(), stdout);
    return 0;
  }
  if (parsed.status == options_result::kind::error) {
    std::fprintf(stderr, "minivault: %s\n", parsed.message.c_str());
    return 2;
  }
  const node_options& opts = parsed.options;
  set_log_level(opts.log_level);
  // Signals are taken synchronously by this thread only; every other thread inherits
  // the blocked mask. SIGPIPE is ignored: a vanished client is an ordinary error.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  static const http::codec http_codec; // HTTP/JSON, served by the node's I/O threads
  auto started = node::start(opts, &http_codec);
  if (!started) {
    std::fprintf(stderr, "minivault: %s\n", started.error().reason().c_str());
    return 1;
  }
  std::unique_ptr<node> n = std::move(started).value();
  int sig = 0;
  sigwait(&stop_signals, &sig);
  log(log_level::info, std::string("stopping on ") + (sig == SIGINT ? "SIGINT" : "SIGTERM"));
  std::thread([] {
    std::this_thread::sleep_for(std::chrono::milliseconds(shutdown_watchdog_ms));
    std::fprintf(stderr, "minivault: shutdown did not finish in %u ms, exiting\n",
                 shutdown_watchdog_ms);
    std::_Exit(1);
  }).detach();
  bool failed = n->failed();
  n.reset();
  log(log_level::info, "stopped");
  return failed ? 1 : 0;
}
