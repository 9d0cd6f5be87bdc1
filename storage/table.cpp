#include "storage/table.hpp"

#include <cstring>
#include <functional>
#include <new>

#include "protocol/assert.hpp"

namespace minivault::storage {

// -- shard ------------------------------------------------------------------------------

index_entry* index_entry::create(std::uint64_t hash, std::string_view key) {
  void* mem = ::operator new(sizeof(index_entry) + key.size());
  auto* e = new (mem) index_entry();
  e->key_bytes = static_cast<std::uint32_t>(key.size());
  e->hash = hash;
  if (!key.empty()) std::memcpy(reinterpret_cast<char*>(e + 1), key.data(), key.size());
  return e;
}

void index_entry::destroy(index_entry* e) noexcept {
  if (e == nullptr) return;
  e->~index_entry();
  ::operator delete(e);
}

shard::~shard() {
  for (auto& s : slots_)
    index_entry::destroy(s.entry);
}

index_entry* shard::find(std::uint64_t hash, std::string_view key) const noexcept {
  std::size_t mask = slots_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const slot_ref& s = slots_[i];
    if (s.entry == nullptr) return nullptr;
    if (s.hash == hash && s.entry->key() == key) return s.entry;
  }
}

index_entry* shard::insert(std::uint64_t hash, std::string_view key) {
  if ((count_ + 1) * 2 > slots_.size()) grow(); // load factor <= 0.5: short probes
  index_entry* e = index_entry::create(hash, key);
  std::size_t mask = slots_.size() - 1;
  std::size_t i = hash & mask;
  while (slots_[i].entry != nullptr)
    i = (i + 1) & mask;
  slots_[i] = slot_ref{hash, e};
  ++count_;
  return e;
}

void shard::erase(index_entry* victim) noexcept {
  std::size_t mask = slots_.size() - 1;
  std::size_t i = victim->hash & mask;
  while (slots_[i].entry != victim)
    i = (i + 1) & mask;
  // Backward-shift deletion keeps every probe chain unbroken without tombstones.
  std::size_t hole = i;
  for (std::size_t j = (i + 1) & mask; slots_[j].entry != nullptr; j = (j + 1) & mask) {
    std::size_t home = slots_[j].hash & mask;
    // Move slots_[j] into the hole if its home is not cyclically within (hole, j].
    bool home_in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!home_in_range) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = slot_ref{};
  --count_;
  index_entry::destroy(victim);
}

void shard::grow() {
  std::vector<slot_ref> bigger(slots_.size() * 2);
  std::size_t mask = bigger.size() - 1;
  for (const auto& s : slots_) {
    if (s.entry == nullptr) continue;
    std::size_t i = s.hash & mask;
    while (bigger[i].entry != nullptr)
      i = (i + 1) & mask;
    bigger[i] = s;
  }
  slots_.swap(bigger);
  clock_hand = 0;
}

// -- table ------------------------------------------------------------------------------

table::table(std::size_t shard_count, std::size_t cache_bytes_max)
    : cache_bytes_max_(cache_bytes_max), value_bytes_cacheable_max_(cache_bytes_max / 8) {
  std::size_t n = 1;
  while (n < shard_count)
    n <<= 1;
  shards_.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    shards_.push_back(std::make_unique<shard>());
}

std::uint64_t table::hash_key(std::string_view key) noexcept {
  auto h = static_cast<std::uint64_t>(std::hash<std::string_view>{}(key));
  // Mix so both the shard bits (high) and the slot bits (low) are well spread.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

bool table::cache_value(index_entry& e, std::string_view value) {
  if (!cacheable(value.size())) {
    drop_value(e);
    return false;
  }
  // The budget counts memory held (capacity), not value lengths: an overwrite reuses
  // the old buffer, and a buffer much larger than the new value is given back.
  if (e.cached) {
    cache_bytes_.fetch_sub(e.value.capacity(), std::memory_order_relaxed);
    if (e.value.capacity() > 2 * value.size() + 64) std::string().swap(e.value);
  } else {
    cache_items_.fetch_add(1, std::memory_order_relaxed);
    e.cached = true;
  }
  e.value.assign(value.data(), value.size());
  e.referenced.store(1, std::memory_order_relaxed);
  cache_bytes_.fetch_add(e.value.capacity(), std::memory_order_relaxed);
  return true;
}

void table::drop_value(index_entry& e) noexcept {
  if (!e.cached) return;
  cache_bytes_.fetch_sub(e.value.capacity(), std::memory_order_relaxed);
  cache_items_.fetch_sub(1, std::memory_order_relaxed);
  std::string().swap(e.value); // release the memory, not just the length
  e.cached = false;
}

void table::maybe_evict() {
  if (cache_bytes() > cache_bytes_max_) evict_to(cache_bytes_max_ / 10 * 9);
}

void table::evict_to(std::size_t target_bytes) {
  if (!evict_mutex_.try_lock()) return; // someone else is already evicting
  lock_guard guard(evict_mutex_, std::adopt_lock);
  // Two full CLOCK rotations always suffice: the first clears reference bits, the
  // second evicts. Each shard is locked for one bounded slice at a time.
  constexpr std::size_t slice = 256;
  std::size_t rounds = 0;
  std::size_t max_rounds = shards_.size() * 2 * 64;
  while (cache_bytes() > target_bytes && rounds++ < max_rounds) {
    shard& s = *shards_[evict_shard_];
    evict_shard_ = (evict_shard_ + 1) % shards_.size();
    s.lock.lock();
    std::size_t n = s.slot_count();
    for (std::size_t k = 0; k < slice && k < n && cache_bytes() > target_bytes; ++k) {
      s.clock_hand = (s.clock_hand + 1) % n;
      index_entry* e = s.slot(s.clock_hand);
      if (e == nullptr || !e->cached) continue;
      if (e->referenced.exchange(0, std::memory_order_relaxed) != 0) continue;
      drop_value(*e);
    }
    s.lock.unlock();
  }
}

} // namespace minivault::storage
