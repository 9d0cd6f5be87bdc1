#include "actors/cluster/membership/peer_tracker.hpp"

#include <algorithm>

#include "protocol/enum_names.hpp"
#include "storage/partition.hpp" // mix64

namespace minivault {

const char* to_string(peer_state s) noexcept {
  static constexpr const char* names[] = {"connecting", "up", "down"};
  return enum_name(s, names, "unknown");
}

bool dials_peer(const std::string& self_name, const std::string& peer_name,
                std::uint32_t missed_hellos) noexcept {
  return self_name < peer_name || missed_hellos >= hello_waits_max;
}

peer_tracker::peer_tracker(std::vector<peer_address> peers, timing t, std::uint64_t jitter_seed)
    : timing_(t), jitter_state_(jitter_seed) {
  for (auto& a : peers) {
    peer p;
    p.address = std::move(a);
    p.backoff_ms = timing_.backoff_min_ms;
    peers_.push_back(std::move(p));
  }
}

void peer_tracker::retry_after(peer& p, std::int64_t now_ms, std::int64_t delay_ms) {
  p.attempting = false;
  std::int64_t extra = 0;
  if (timing_.jitter_percent > 0 && delay_ms > 0) {
    const std::uint64_t z = storage::mix64(jitter_state_ += 0x9e3779b97f4a7c15ULL); // splitmix64
    const std::uint64_t span = static_cast<std::uint64_t>(delay_ms * timing_.jitter_percent / 100);
    extra = static_cast<std::int64_t>(z % (span + 1));
  }
  p.next_attempt_ms = now_ms + delay_ms + extra;
}

std::vector<std::size_t> peer_tracker::due_attempts(std::int64_t now_ms) {
  std::vector<std::size_t> due;
  for (std::size_t i = 0; i < peers_.size(); ++i) {
    peer& p = peers_[i];
    if (p.self || p.attempting || p.state == peer_state::up || now_ms < p.next_attempt_ms) continue;
    p.attempting = true;
    due.push_back(i);
  }
  return due;
}

void peer_tracker::attempt_failed(std::size_t i, std::int64_t now_ms) {
  peer& p = peers_[i];
  retry_after(p, now_ms, p.backoff_ms);
  p.backoff_ms = std::min(p.backoff_ms * 2, timing_.backoff_max_ms);
}

void peer_tracker::is_self(std::size_t i) {
  peers_[i].self = true;
  peers_[i].attempting = false;
}

void peer_tracker::connected(std::size_t i, std::string node_id, std::string region,
                             std::int64_t now_ms) {
  peer& p = peers_[i];
  p.state = peer_state::up;
  p.attempting = false;
  p.backoff_ms = timing_.backoff_min_ms;
  p.last_heard_ms = now_ms;
  p.last_ping_ms = now_ms;
  p.node_id = std::move(node_id);
  p.region = std::move(region);
}

void peer_tracker::heard(std::size_t i, std::int64_t now_ms) {
  peers_[i].last_heard_ms = std::max(peers_[i].last_heard_ms, now_ms);
}

void peer_tracker::lost(std::size_t i, std::int64_t now_ms) {
  peer& p = peers_[i];
  if (p.self) return;
  p.state = p.state == peer_state::connecting ? peer_state::connecting : peer_state::down;
  p.backoff_ms = timing_.backoff_min_ms;
  retry_after(p, now_ms, timing_.backoff_min_ms);
}

std::vector<std::size_t> peer_tracker::due_heartbeats(std::int64_t now_ms) {
  std::vector<std::size_t> due;
  for (std::size_t i = 0; i < peers_.size(); ++i) {
    peer& p = peers_[i];
    if (p.state != peer_state::up || now_ms - p.last_ping_ms < timing_.heartbeat_ms) continue;
    p.last_ping_ms = now_ms;
    due.push_back(i);
  }
  return due;
}

std::vector<std::size_t> peer_tracker::expire_silent(std::int64_t now_ms) {
  std::vector<std::size_t> expired;
  for (std::size_t i = 0; i < peers_.size(); ++i) {
    peer& p = peers_[i];
    if (p.state != peer_state::up || now_ms - p.last_heard_ms < timing_.down_after_ms) continue;
    lost(i, now_ms);
    expired.push_back(i);
  }
  return expired;
}

std::vector<peer_view> peer_tracker::snapshot(std::int64_t now_ms) const {
  std::vector<peer_view> out;
  for (const peer& p : peers_) {
    if (p.self) continue;
    peer_view v;
    v.address = p.address.host + ":" + std::to_string(p.address.port);
    v.state = p.state;
    v.ms_since_heard = p.last_heard_ms < 0 ? -1 : now_ms - p.last_heard_ms;
    v.node_id = p.node_id;
    v.region = p.region;
    out.push_back(std::move(v));
  }
  return out;
}

bool peer_tracker::all_up() const {
  return std::all_of(peers_.begin(), peers_.end(),
                     [](const peer& p) { return p.self || p.state == peer_state::up; });
}

} // namespace minivault
