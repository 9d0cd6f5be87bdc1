#pragma once
// The in-memory index and value cache: every key's latest version and log location,
// plus the value itself while it is cached.
//
// Sharing contract: the table is split into shards, each guarded by its own rw_spinlock.
// Readers (any thread) take a shard's shared lock; the single storage writer, and readers
// filling the cache after a miss, take it exclusively. `index_entry` objects are owned by
// their shard and must only be touched while holding that shard's lock (the `referenced`
// bit is atomic so that readers may set it under the shared lock).
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

/// One key's index entry. The key's bytes are stored right behind the struct, in the
/// same allocation (create/destroy), so a lookup that finds the slot reads the key from
/// the entry's own cache lines instead of chasing a second heap pointer (keys of 16+
/// bytes do not fit std::string's inline buffer). Measured: GETs at 16 in flight spent
/// 20% of the I/O thread in find + memcmp before this.
struct index_entry {
  [[nodiscard]] static index_entry* create(std::uint64_t hash, std::string_view key);
  static void destroy(index_entry* e) noexcept;
  [[nodiscard]] std::string_view key() const noexcept {
    return {reinterpret_cast<const char*>(this + 1), key_bytes};
  }

  std::uint32_t key_bytes = 0;
  std::uint64_t hash = 0;
  version ver;
  location loc;
  bool tombstone = false;
  bool cached = false;
  std::atomic<std::uint8_t> referenced{0}; // CLOCK bit, set by readers
  std::string value;                       // the value while `cached`
};

/// One shard: an open-addressing (linear probing) hash table of entry pointers.
class shard {
public:
  shard() : slots_(16) {}
  ~shard();
  shard(const shard&) = delete;
  shard& operator=(const shard&) = delete;

  [[nodiscard]] index_entry* find(std::uint64_t hash, std::string_view key) const noexcept
      MV_REQUIRES_SHARED(lock);
  /// Inserts a new entry for a key that is not present. Caller holds the lock exclusively.
  index_entry* insert(std::uint64_t hash, std::string_view key) MV_REQUIRES(lock);
  /// Removes and frees `e`. Caller holds the lock exclusively.
  void erase(index_entry* e) noexcept MV_REQUIRES(lock);

  /// Prefetch hints for the writer: the home slot of `hash`, and the entry it holds.
  /// Lock-free reads of the slot array are safe only on the writer thread, the one
  /// thread that ever changes it; other threads hold `lock` shared. (The analysis cannot
  /// tell the writer thread from the others, so these two are not checked.)
  void prefetch_slot(std::uint64_t hash) const noexcept MV_NO_THREAD_SAFETY_ANALYSIS {
    __builtin_prefetch(&slots_[hash & (slots_.size() - 1)]);
  }
  void prefetch_entry(std::uint64_t hash) const noexcept MV_NO_THREAD_SAFETY_ANALYSIS {
    if (const index_entry* e = slots_[hash & (slots_.size() - 1)].entry) __builtin_prefetch(e);
  }

  [[nodiscard]] std::size_t slot_count() const noexcept MV_REQUIRES_SHARED(lock) {
    return slots_.size();
  }
  [[nodiscard]] index_entry* slot(std::size_t i) const noexcept MV_REQUIRES_SHARED(lock) {
    return slots_[i].entry;
  }
  [[nodiscard]] std::size_t size() const noexcept MV_REQUIRES_SHARED(lock) { return count_; }

  alignas(64) rw_spinlock lock;
  // Counters live beside the lock: they share its cache line, so counting costs no
  // extra line transfers on the read path.
  std::atomic<std::uint64_t> hits{0};
  std::atomic<std::uint64_t> misses{0};
  std::size_t clock_hand MV_GUARDED_BY(lock) = 0;

private:
  /// The hash sits beside the pointer so a probe touches an entry only on a real match.
  struct slot_ref {
    std::uint64_t hash = 0;
    index_entry* entry = nullptr;
  };
  void grow() MV_REQUIRES(lock);
  std::vector<slot_ref> slots_ MV_GUARDED_BY(lock);
  std::size_t count_ MV_GUARDED_BY(lock) = 0;
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

  // -- cache accounting: call with the entry's shard locked exclusively -----------------
  /// Caches a copy of `value` in `e` (reusing its buffer unless it is much larger than
  /// needed) if it fits the per-value cap; otherwise drops what `e` had cached. Returns
  /// whether it cached. Cache bytes count buffer capacity, i.e. memory actually held.
  bool cache_value(index_entry& e, std::string_view value);
  [[nodiscard]] bool cacheable(std::size_t value_bytes) const noexcept {
    return value_bytes <= value_bytes_cacheable_max_;
  }
  void drop_value(index_entry& e) noexcept;

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
  std::vector<std::unique_ptr<shard>> shards_;
  std::size_t cache_bytes_max_;
  std::size_t value_bytes_cacheable_max_;
  std::atomic<std::size_t> cache_bytes_{0};
  std::atomic<std::size_t> cache_items_{0};
  minivault::mutex evict_mutex_;
  std::size_t evict_shard_ MV_GUARDED_BY(evict_mutex_) = 0;
};

} // namespace minivault::storage
