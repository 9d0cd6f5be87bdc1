#include "tests/support/cluster_harness.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <signal.h>
#include <sstream>
#include <thread>

#include "tests/support/test_client.hpp"

namespace minivault::test {

using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

std::vector<std::uint16_t> pick_free_ports(std::size_t n) {
  std::set<std::uint16_t> seen;
  std::vector<std::uint16_t> out;
  for (std::size_t attempt = 0; out.size() < n && attempt < n * 20; ++attempt) {
    std::uint16_t p = pick_free_port();
    // The default cluster port is the client port + 1000: keep well inside the range.
    if (p == 0 || p > 64000 || !seen.insert(p).second) continue;
    out.push_back(p);
  }
  if (out.size() < n) out.clear();
  return out;
}

const health_view::peer* health_view::find(const std::string& address) const {
  for (const auto& p : peers)
    if (p.address == address) return &p;
  return nullptr;
}

bool health_view::all_peers_up() const {
  if (!ok || peers.empty()) return false;
  return std::all_of(peers.begin(), peers.end(), [](const peer& p) { return p.state == "up"; });
}

health_view fetch_health(std::uint16_t port, milliseconds io_timeout) {
  health_view h;
  test_client c(port, io_timeout);
  if (!c.connected()) {
    h.raw = "(connect failed)";
    return h;
  }
  auto r = c.health();
  if (!r.ok()) {
    std::ostringstream s;
    s << "(HEALTH failed: " << r << ")";
    h.raw = s.str();
    return h;
  }
  h.raw = r.payload;
  auto j = nlohmann::json::parse(r.payload, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("status") || !j.contains("peers") ||
      !j["peers"].is_array()) {
    return h;
  }
  h.status = j.value("status", "");
  h.node_id = j.value("node_id", "");
  for (const auto& p : j["peers"]) {
    if (!p.is_object()) return h;
    health_view::peer v;
    v.address = p.value("address", "");
    v.state = p.value("state", "");
    v.node_id = p.value("node_id", "");
    h.peers.push_back(std::move(v));
  }
  h.ok = true;
  return h;
}

bool poll_until(const std::function<bool()>& pred, milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  while (true) {
    if (pred()) return true;
    if (clock_type::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
}

bool read_keys(std::uint16_t port, const std::vector<std::string>& keys,
               std::map<std::string, key_state>& out, std::string& error, const std::string& auth,
               bool quorum) {
  test_client c(port, std::chrono::seconds(10));
  if (!c.connected()) {
    error = "connect to port " + std::to_string(port) + " failed";
    return false;
  }
  if (!auth.empty()) {
    auto r = c.auth(auth);
    if (!r.ok()) {
      error = "AUTH failed";
      return false;
    }
  }
  constexpr std::size_t batch = 256;
  for (std::size_t from = 0; from < keys.size(); from += batch) {
    std::size_t to = std::min(keys.size(), from + batch);
    std::string frames;
    for (std::size_t k = from; k < to; ++k)
      wire::append_request(frames, quorum ? wire::opcode::qget : wire::opcode::get, keys[k]);
    if (!c.send_raw(frames)) {
      error = "cannot send GETs to port " + std::to_string(port);
      return false;
    }
    for (std::size_t k = from; k < to; ++k) {
      auto r = c.read_reply();
      if (r.ok()) {
        out[keys[k]] = std::move(r.payload);
      } else if (r.is_error("not found")) {
        out[keys[k]] = std::nullopt;
      } else {
        std::ostringstream s;
        s << (quorum ? "QGET " : "GET ") << printable(keys[k], 60) << " on port " << port << ": "
          << r;
        error = s.str();
        return false;
      }
    }
  }
  return true;
}

cluster_harness::cluster_harness(cluster_config config) {
  const std::size_t n = config.nodes;
  auto picked = pick_free_ports(n * (config.http ? 3 : 2));
  if (picked.empty()) return;
  // Ports of extra members must not collide with ours either.
  for (auto p : config.extra_members)
    if (std::find(picked.begin(), picked.end(), p) != picked.end()) return;
  ports_.assign(picked.begin(), picked.begin() + static_cast<std::ptrdiff_t>(n));
  cluster_ports_.assign(picked.begin() + static_cast<std::ptrdiff_t>(n),
                        picked.begin() + static_cast<std::ptrdiff_t>(2 * n));
  if (config.http)
    http_ports_.assign(picked.begin() + static_cast<std::ptrdiff_t>(2 * n), picked.end());
  for (std::size_t i = 0; i < n; ++i) {
    std::string peers;
    auto add_peer = [&](std::uint16_t p) {
      if (!peers.empty()) peers += ",";
      peers += "127.0.0.1:" + std::to_string(p);
    };
    for (std::size_t j = 0; j < n; ++j)
      if (j != i) add_peer(ports_[j]);
    for (auto p : config.extra_members)
      add_peer(p);
    std::vector<std::string> a = {"-bind",          "127.0.0.1",
                                  "-public-url",    address(i),
                                  "-cluster-port",  std::to_string(cluster_ports_[i]),
                                  "-cluster-nodes", peers};
    if (config.http) {
      a.push_back("-http");
      a.push_back(std::to_string(http_ports_[i]));
    }
    a.insert(a.end(), config.common_args.begin(), config.common_args.end());
    if (auto it = config.node_args.find(i); it != config.node_args.end())
      a.insert(a.end(), it->second.begin(), it->second.end());
    args_.push_back(a);
    nodes_.push_back(std::make_unique<node_process>(std::move(a), std::string{}, ports_[i]));
  }
  ports_ok_ = true;
}

cluster_harness::~cluster_harness() {
  // SIGTERM every node first, so they stop in parallel; each is then reaped by stop().
  const auto start = clock_type::now();
  std::vector<bool> was_running;
  for (auto& node : nodes_) {
    was_running.push_back(node->running());
    node->send_signal(SIGTERM);
    node->send_signal(SIGCONT); // a frozen node takes SIGTERM only once resumed
  }
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    nodes_[i]->stop();
    if (!was_running[i]) continue;
    auto took = std::chrono::duration_cast<milliseconds>(clock_type::now() - start).count();
    std::string how = nodes_[i]->last_exit_description();
    if (how != "exited 0" || took > 2000) {
      std::cout << "[ note ] node " << i << " (" << address(i) << ") stopped on SIGTERM after "
                << took << " ms (cumulative: nodes are reaped in turn): " << how << "\n";
    }
  }
}

std::string cluster_harness::address(std::size_t i) const {
  return "127.0.0.1:" + std::to_string(ports_.at(i));
}

::testing::AssertionResult cluster_harness::start_all(milliseconds timeout) {
  if (!ports_ok_) return ::testing::AssertionFailure() << "could not pick free ports";
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    auto started = nodes_[i]->start(timeout);
    if (!started) return ::testing::AssertionFailure() << "node " << i << ": " << started.message();
  }
  return wait_cluster_up(timeout);
}

::testing::AssertionResult
cluster_harness::wait_health(std::size_t i, const std::function<bool(const health_view&)>& pred,
                             const std::string& what, milliseconds timeout) {
  health_view last;
  auto start = clock_type::now();
  bool held = poll_until(
      [&] {
        last = fetch_health(ports_.at(i), milliseconds(1000));
        return last.ok && pred(last);
      },
      timeout);
  if (held) return ::testing::AssertionSuccess();
  auto waited = std::chrono::duration_cast<milliseconds>(clock_type::now() - start).count();
  return ::testing::AssertionFailure()
         << "node " << i << " (" << address(i) << ") never showed " << what << " within " << waited
         << " ms; last health: " << last.raw;
}

::testing::AssertionResult cluster_harness::wait_all_peers_up(std::size_t i, milliseconds timeout) {
  const std::size_t expected = nodes_.size() - 1;
  return wait_health(
      i,
      [expected](const health_view& h) {
        return h.status == "healthy" && h.peers.size() >= expected && h.all_peers_up();
      },
      "every peer up and status healthy", timeout);
}

::testing::AssertionResult cluster_harness::wait_cluster_up(milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i]->running()) continue;
    auto left = std::chrono::duration_cast<milliseconds>(deadline - clock_type::now());
    auto r = wait_all_peers_up(i, std::max(left, milliseconds(1)));
    if (!r) return r;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult cluster_harness::wait_peer_state(std::size_t i, std::size_t j,
                                                            const std::string& state, bool negate,
                                                            milliseconds timeout) {
  const std::string addr = address(j);
  return wait_health(
      i,
      [&](const health_view& h) {
        const auto* p = h.find(addr);
        return p != nullptr && ((p->state == state) != negate);
      },
      "peer " + addr + (negate ? " not " : " ") + state, timeout);
}

} // namespace minivault::test
