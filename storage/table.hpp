#pragma once
// The in-memory index and value cache: every key's latest version and log location,
// plus the value itself while it is cached.
//
// Sharing contract: the table is split into shards, each guarded by its own rw_spinlock.
// Readers (any thread) take a shard's shared lock; the single storage writer, and readers
// filling the cache after a miss, take it exclusively. `index_entry` objects are owned by
// their shard and must only be touched while holding that shard's lock (the CLOCK bit is
// set atomically, so that readers may set it under the shared lock).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/thread_annotations.hpp"
#include "storage/rw_spinlock.hpp"
#include "storage/version.hpp"

namespace minivault::storage {

/// Where a record lives in the log table.
struct location {
  std::uint64_t row = 0;    // rowid of the log row
  std::uint32_t offset = 0; // byte offset of the record in the row body
  std::uint32_t length = 0; // encoded record bytes
};

/// One key's index entry, in a single heap block: a 36-byte header, the key's bytes, then
/// the cached value's bytes while the value is cached. One block per key (not an entry, a
/// key string and a value string) is what keeps the index at "key bytes plus a few words":
/// measured with 2M keys of 16 B and values of 100 B, three blocks (112 B entry chunk, 112 B
/// value chunk, 32 B of slots) took 269 B per key. Entries are created, resized and freed
/// only by their shard (under its exclusive lock), so a pointer to one is valid only while
/// the shard's lock is held, and an entry whose value changes size may move.
class __attribute__((packed, aligned(4))) index_entry {
public:
  /// Bytes in front of the key.
  static constexpr std::size_t header_bytes = 36;

  [[nodiscard]] std::string_view key() const noexcept { return {bytes(), key_bytes_}; }
  /// The cached value; empty unless `cached()`.
  [[nodiscard]] std::string_view value() const noexcept {
    return {bytes() + key_bytes_, value_bytes_};
  }
  [[nodiscard]] version ver() const noexcept { return version{hlc_, node_}; }
  [[nodiscard]] location loc() const noexcept { return location{row_, offset_, length_}; }
  [[nodiscard]] bool tombstone() const noexcept { return (flags_ & tombstone_flag) != 0; }
  [[nodiscard]] bool cached() const noexcept { return (flags_ & cached_flag) != 0; }

  /// The index now points at this record (the writer, shard locked exclusively).
  void set_record(const version& v, const location& l, bool tombstone) noexcept {
    hlc_ = v.hlc;
    node_ = v.node;
    set_location(l);
    flags_ =
        static_cast<std::uint8_t>((flags_ & ~tombstone_flag) | (tombstone ? tombstone_flag : 0));
  }
  void set_location(const location& l) noexcept {
    row_ = l.row;
    offset_ = l.offset;
    length_ = l.length;
  }

  /// The CLOCK bit: readers set it under the shared lock, eviction clears it.
  void touch() noexcept {
    if (__atomic_load_n(&referenced_, __ATOMIC_RELAXED) == 0)
      __atomic_store_n(&referenced_, 1, __ATOMIC_RELAXED);
  }
  /// Clears the CLOCK bit; returns whether it was set.
  bool clear_referenced() noexcept {
    return __atomic_exchange_n(&referenced_, 0, __ATOMIC_RELAXED) != 0;
  }

private:
  friend class shard;
  static constexpr std::uint8_t tombstone_flag = 1, cached_flag = 2;
  [[nodiscard]] const char* bytes() const noexcept {
    return reinterpret_cast<const char*>(this) + header_bytes;
  }
  [[nodiscard]] char* bytes() noexcept { return reinterpret_cast<char*>(this) + header_bytes; }

  std::uint64_t hlc_ = 0;
  std::uint64_t row_ = 0;
  std::uint32_t node_ = 0;
  std::uint32_t offset_ = 0;
  std::uint32_t length_ = 0;
  std::uint32_t value_bytes_ = 0;
  std::uint16_t key_bytes_ = 0;
  std::uint8_t flags_ = 0;
  std::uint8_t referenced_ = 0; // atomic (GCC builtins): readers set it concurrently
};
static_assert(sizeof(index_entry) == index_entry::header_bytes);

/// One shard: an open-addressing (linear probing) hash table of tagged entry pointers.
class shard {
public:
  shard() : slots_(min_slots) {}
  ~shard();
  shard(const shard&) = delete;
  shard& operator=(const shard&) = delete;

  [[nodiscard]] index_entry* find(std::uint64_t hash, std::string_view key) const noexcept
      MV_REQUIRES_SHARED(lock);
  /// Inserts a new entry (no record, no value) for a key that is not present, with room
  /// for a value of `value_room` bytes (so caching one right away does not reallocate).
  index_entry* insert(std::uint64_t hash, std::string_view key, std::size_t value_room = 0)
      MV_REQUIRES(lock);
  /// Removes and frees `e`, which must not hold a cached value (the table counts those).
  void erase(std::uint64_t hash, index_entry* e) noexcept MV_REQUIRES(lock);
  /// Makes `value` the cached value of `e` (of key hash `hash`) and returns the entry,
  /// which may have moved; `e` is then invalid. `value` must not point into `e`.
  index_entry* set_value(std::uint64_t hash, index_entry* e, std::string_view value)
      MV_REQUIRES(lock);
  /// Drops the cached value of `e` and gives its memory back; returns the (moved) entry.
  index_entry* drop_value(std::uint64_t hash, index_entry* e) MV_REQUIRES(lock);
  /// The same as drop_value for the entry in slot `i` (eviction walks slots).
  void drop_value_at(std::size_t i) MV_REQUIRES(lock);
  /// Makes room for `entries` entries in all (the ones held included) without growing:
  /// re-homes the entries into a larger slot array now, if the current one is too small.
  /// Never shrinks.
  void reserve(std::size_t entries) MV_REQUIRES(lock);

  /// Prefetch hints for the writer: the home slot of `hash`, and the entry of its key.
  /// Lock-free reads of the slot array are safe only on the writer thread, the one
  /// thread that ever changes it; other threads hold `lock` shared. (The analysis cannot
  /// tell the writer thread from the others, so these two are not checked.)
  void prefetch_slot(std::uint64_t hash) const noexcept MV_NO_THREAD_SAFETY_ANALYSIS {
    __builtin_prefetch(&slots_[home(hash, slots_.size())]);
  }
  /// The entry is the first one on the probe whose tag matches (a key is at its home slot
  /// only about half the time at the loads the shards keep), looked for over a few slots.
  void prefetch_entry(std::uint64_t hash) const noexcept MV_NO_THREAD_SAFETY_ANALYSIS {
    constexpr std::size_t probe_max = 8;
    const std::size_t n = slots_.size();
    const slot_t tag = tag_of(hash);
    std::size_t i = home(hash, n);
    for (std::size_t k = 0; k < probe_max; ++k) {
      const slot_t s = slots_[i];
      if (s == 0) return;
      if ((s & ~pointer_mask) == tag) {
        __builtin_prefetch(entry_of(s));
        return;
      }
      if (++i == n) i = 0;
    }
  }

  [[nodiscard]] std::size_t slot_count() const noexcept MV_REQUIRES_SHARED(lock) {
    return slots_.size();
  }
  [[nodiscard]] index_entry* slot(std::size_t i) const noexcept MV_REQUIRES_SHARED(lock) {
    return entry_of(slots_[i]);
  }
  [[nodiscard]] std::size_t size() const noexcept MV_REQUIRES_SHARED(lock) { return count_; }
  /// Times the slot array was rebuilt (grown or reserved).
  [[nodiscard]] std::size_t rehashes() const noexcept MV_REQUIRES_SHARED(lock) { return rehashes_; }

  alignas(64) rw_spinlock lock;
  // Counters live beside the lock: they share its cache line, so counting costs no
  // extra line transfers on the read path.
  std::atomic<std::uint64_t> hits{0};
  std::atomic<std::uint64_t> misses{0};
  std::size_t clock_hand MV_GUARDED_BY(lock) = 0;

private:
  /// A slot is 0 (empty) or an entry pointer (x86-64 user space: the low 48 bits) with 16
  /// bits of the key's hash on top, so a probe touches an entry only when the tag matches.
  /// The tag bits (32..47) are neither the home bits (0..31) nor the shard bits (48..).
  using slot_t = std::uint64_t;
  static constexpr std::size_t min_slots = 16;
  static constexpr unsigned tag_shift = 48;
  static constexpr slot_t pointer_mask = (slot_t{1} << tag_shift) - 1;
  [[nodiscard]] static slot_t tag_of(std::uint64_t hash) noexcept {
    return ((hash >> 32) & 0xffff) << tag_shift;
  }
  [[nodiscard]] static index_entry* entry_of(slot_t s) noexcept {
    return reinterpret_cast<index_entry*>(s & pointer_mask);
  }
  /// Home slot: the low 32 hash bits scaled to the table size (any size, not only powers
  /// of two: growing by 1.5x keeps the load between 0.5 and 0.75).
  [[nodiscard]] static std::size_t home(std::uint64_t hash, std::size_t n) noexcept {
    return static_cast<std::size_t>(((hash & 0xffffffffULL) * n) >> 32);
  }
  /// The slot holding `e`, found by probing from its home.
  [[nodiscard]] std::size_t slot_of(std::uint64_t hash, const index_entry* e) const noexcept
      MV_REQUIRES_SHARED(lock);
  /// Reallocates the entry in slot `i` with room for exactly `value_bytes` of value.
  index_entry* resize(std::size_t i, std::size_t value_bytes) MV_REQUIRES(lock);
  void grow() MV_REQUIRES(lock);
  /// Re-homes every entry into `n` slots (n > count_).
  void rehash(std::size_t n) MV_REQUIRES(lock);
  std::vector<slot_t> slots_ MV_GUARDED_BY(lock);
  std::size_t count_ MV_GUARDED_BY(lock) = 0;
  std::size_t rehashes_ MV_GUARDED_BY(lock) = 0;
};

class table {
public:
  /// `shard_count` is rounded up to a power of two.
  table(std::size_t shard_count, std::size_t cache_bytes_max);

  [[nodiscard]] static std::uint64_t hash_key(std::string_view key) noexcept;
  [[nodiscard]] shard& shard_for(std::uint64_t hash) noexcept {
    return *shards_[(hash >> 48) & (shards_.size() - 1)];
  }
  [[nodiscard]] std::size_t shard_count() const noexcept { return shards_.size(); }
  [[nodiscard]] shard& shard_at(std::size_t i) noexcept { return *shards_[i]; }
  /// Sizes every shard for its share of `entries` keys, with room for keys spreading
  /// unevenly over the shards, so that inserting that many grows no shard (growing
  /// re-hashes every key of the shard). Any thread holding no shard lock.
  void reserve(std::size_t entries);
  /// The slot arrays' shape, summed over the shards: slots (8 bytes each) and the times
  /// an array was rebuilt (grown or reserved). Any thread holding no shard lock.
  struct shape {
    std::size_t slots = 0;
    std::size_t rehashes = 0;
  };
  [[nodiscard]] shape slots_shape();

  // -- cache accounting: call with the entry's shard locked exclusively -----------------
  /// Caches a copy of `value` in `e` (of key hash `hash`, in shard `s`) if it fits the
  /// per-value cap; otherwise drops what `e` had cached. Returns the entry, which may
  /// have moved. Cache bytes count value bytes.
  index_entry* cache_value(shard& s, std::uint64_t hash, index_entry* e, std::string_view value)
      MV_REQUIRES(s.lock);
  [[nodiscard]] bool cacheable(std::size_t value_bytes) const noexcept {
    return value_bytes <= value_bytes_cacheable_max_;
  }
  index_entry* drop_value(shard& s, std::uint64_t hash, index_entry* e) MV_REQUIRES(s.lock);

  /// Evicts unreferenced values (CLOCK) until cached bytes are at most `target_bytes`.
  /// Safe from any thread holding no shard lock; concurrent callers skip.
  void evict_to(std::size_t target_bytes);
  /// Evicts down to 90% of the budget when over it.
  void maybe_evict();

  [[nodiscard]] std::size_t cache_bytes() const noexcept {
    return cache_bytes_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::size_t cache_items() const noexcept {
    return cache_items_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::size_t cache_bytes_max() const noexcept { return cache_bytes_max_; }

private:
  /// Takes a cached value about to be dropped out of the cache's counts.
  void uncount(const index_entry& e) noexcept;
  std::vector<std::unique_ptr<shard>> shards_;
  std::size_t cache_bytes_max_;
  std::size_t value_bytes_cacheable_max_;
  std::atomic<std::size_t> cache_bytes_{0};
  std::atomic<std::size_t> cache_items_{0};
  minivault::mutex evict_mutex_;
  std::size_t evict_shard_ MV_GUARDED_BY(evict_mutex_) = 0;
};

} // namespace minivault::storage
