#include "storage/table.hpp"

#include <malloc.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <new>

#include "protocol/assert.hpp"

namespace minivault::storage {

// -- shard ------------------------------------------------------------------------------

namespace {

/// An entry block holding more than this beyond what it needs is reallocated when its
/// value changes (a same-size overwrite stays in place: malloc's rounding is < 16 B).
constexpr std::size_t resize_slack_max = 32;
/// Load factor bound: grow (by 1.5x) before more than 3/4 of the slots are taken.
constexpr bool over_load(std::size_t count, std::size_t slots) noexcept {
  return count * 4 > slots * 3;
}

void* allocate(std::size_t bytes) {
  void* mem = std::malloc(bytes);
  if (mem == nullptr) throw std::bad_alloc();
  return mem;
}

} // namespace

shard::~shard() {
  for (slot_t s : slots_)
    std::free(entry_of(s));
}

index_entry* shard::find(std::uint64_t hash, std::string_view key) const noexcept {
  const std::size_t n = slots_.size();
  const slot_t tag = tag_of(hash);
  for (std::size_t i = home(hash, n);;) {
    slot_t s = slots_[i];
    if (s == 0) return nullptr;
    if ((s & ~pointer_mask) == tag) {
      index_entry* e = entry_of(s);
      if (e->key() == key) return e;
    }
    if (++i == n) i = 0;
  }
}

std::size_t shard::slot_of(std::uint64_t hash, const index_entry* e) const noexcept {
  const std::size_t n = slots_.size();
  std::size_t i = home(hash, n);
  while (entry_of(slots_[i]) != e) {
    if (++i == n) i = 0;
  }
  return i;
}

index_entry* shard::insert(std::uint64_t hash, std::string_view key, std::size_t value_room) {
  if (over_load(count_ + 1, slots_.size())) grow();
  auto* e = new (allocate(index_entry::header_bytes + key.size() + value_room)) index_entry();
  e->key_bytes_ = static_cast<std::uint16_t>(key.size());
  if (!key.empty()) std::memcpy(e->bytes(), key.data(), key.size());
  auto bits = reinterpret_cast<slot_t>(e);
  KV_ASSERT((bits & ~pointer_mask) == 0); // a 48-bit user-space address
  const std::size_t n = slots_.size();
  std::size_t i = home(hash, n);
  while (slots_[i] != 0) {
    if (++i == n) i = 0;
  }
  slots_[i] = tag_of(hash) | bits;
  ++count_;
  return e;
}

void shard::erase(std::uint64_t hash, index_entry* victim) noexcept {
  KV_ASSERT(!victim->cached());
  const std::size_t n = slots_.size();
  std::size_t hole = slot_of(hash, victim);
  // Backward-shift deletion keeps every probe chain unbroken without tombstones. The
  // slots do not hold whole hashes: each candidate's home comes from its key.
  for (std::size_t j = hole + 1 == n ? 0 : hole + 1; slots_[j] != 0; j = j + 1 == n ? 0 : j + 1) {
    std::size_t h = home(table::hash_key(entry_of(slots_[j])->key()), n);
    // Move slots_[j] into the hole unless its home is cyclically within (hole, j].
    bool home_in_range = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j);
    if (!home_in_range) {
      slots_[hole] = slots_[j];
      hole = j;
    }
  }
  slots_[hole] = 0;
  --count_;
  std::free(victim);
}

index_entry* shard::resize(std::size_t i, std::size_t value_bytes) {
  index_entry* old = entry_of(slots_[i]);
  const std::size_t keep = index_entry::header_bytes + old->key_bytes_;
  const std::size_t need = keep + value_bytes;
  const std::size_t room = malloc_usable_size(old);
  if (need <= room && room - need <= resize_slack_max) {
    old->value_bytes_ = static_cast<std::uint32_t>(value_bytes);
    return old;
  }
  auto* e = static_cast<index_entry*>(allocate(need));
  std::memcpy(static_cast<void*>(e), old, keep); // no reader: the lock is exclusive
  e->value_bytes_ = static_cast<std::uint32_t>(value_bytes);
  auto bits = reinterpret_cast<slot_t>(e);
  KV_ASSERT((bits & ~pointer_mask) == 0);
  slots_[i] = (slots_[i] & ~pointer_mask) | bits;
  std::free(old);
  return e;
}

index_entry* shard::set_value(std::uint64_t hash, index_entry* e, std::string_view value) {
  e = resize(slot_of(hash, e), value.size());
  if (!value.empty()) std::memcpy(e->bytes() + e->key_bytes_, value.data(), value.size());
  e->flags_ |= index_entry::cached_flag;
  return e;
}

index_entry* shard::drop_value(std::uint64_t hash, index_entry* e) {
  std::size_t i = slot_of(hash, e);
  drop_value_at(i);
  return entry_of(slots_[i]);
}

void shard::drop_value_at(std::size_t i) {
  index_entry* e = resize(i, 0);
  e->flags_ &= static_cast<std::uint8_t>(~index_entry::cached_flag);
}

void shard::grow() {
  rehash(slots_.size() + slots_.size() / 2);
}

void shard::reserve(std::size_t entries) {
  if (over_load(entries, slots_.size())) rehash((entries * 4 + 2) / 3); // load 3/4 when full
}

void shard::rehash(std::size_t n) {
  std::vector<slot_t> bigger(n);
  // Each entry's home comes from its key, so this touches every entry: prefetch ahead.
  constexpr std::size_t ahead = 8;
  for (std::size_t k = 0; k < slots_.size(); ++k) {
    if (k + ahead < slots_.size()) {
      if (const index_entry* next = entry_of(slots_[k + ahead])) __builtin_prefetch(next);
    }
    slot_t s = slots_[k];
    if (s == 0) continue;
    std::size_t i = home(table::hash_key(entry_of(s)->key()), n);
    while (bigger[i] != 0) {
      if (++i == n) i = 0;
    }
    bigger[i] = s;
  }
  slots_.swap(bigger);
  clock_hand = 0;
  ++rehashes_;
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

void table::reserve(std::size_t entries) {
  // A shard's share of random keys is binomial: the mean plus four standard deviations
  // covers every shard of any table this size in practice.
  const double mean = static_cast<double>(entries) / static_cast<double>(shards_.size());
  const auto share = static_cast<std::size_t>(mean + 4 * std::sqrt(mean) + 8);
  for (auto& s : shards_) {
    s->lock.lock();
    s->reserve(share);
    s->lock.unlock();
  }
}

table::shape table::slots_shape() {
  shape out;
  for (auto& s : shards_) {
    s->lock.lock_shared();
    out.slots += s->slot_count();
    out.rehashes += s->rehashes();
    s->lock.unlock_shared();
  }
  return out;
}

std::uint64_t table::hash_key(std::string_view key) noexcept {
  auto h = static_cast<std::uint64_t>(std::hash<std::string_view>{}(key));
  // Mix so both the shard bits (high) and the slot bits (low) are well spread.
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

index_entry* table::cache_value(shard& s, std::uint64_t hash, index_entry* e,
                                std::string_view value) {
  if (!cacheable(value.size())) return drop_value(s, hash, e);
  std::size_t before = 0;
  if (e->cached())
    before = e->value().size();
  else
    cache_items_.fetch_add(1, std::memory_order_relaxed);
  e = s.set_value(hash, e, value);
  e->touch();
  cache_bytes_.fetch_add(value.size(), std::memory_order_relaxed);
  cache_bytes_.fetch_sub(before, std::memory_order_relaxed);
  return e;
}

index_entry* table::drop_value(shard& s, std::uint64_t hash, index_entry* e) {
  if (!e->cached()) return e;
  uncount(*e);
  return s.drop_value(hash, e);
}

void table::uncount(const index_entry& e) noexcept {
  cache_bytes_.fetch_sub(e.value().size(), std::memory_order_relaxed);
  cache_items_.fetch_sub(1, std::memory_order_relaxed);
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
      if (e == nullptr || !e->cached()) continue;
      if (e->clear_referenced()) continue;
      uncount(*e);
      s.drop_value_at(s.clock_hand);
    }
    s.lock.unlock();
  }
}

} // namespace minivault::storage
