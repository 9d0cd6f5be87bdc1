#pragma once
// A reader-writer spinlock for very short critical sections (a hash probe plus a copy of
// one value). Readers share; the writer is exclusive. Critical sections must never block
// (no I/O, no allocation-heavy work under the writer lock). A capability for Clang's
// thread-safety analysis: fields it guards say MV_GUARDED_BY(lock).
#include <atomic>
#include <cstdint>
#include <thread>

#include "protocol/thread_annotations.hpp"

namespace minivault::storage {

class MV_CAPABILITY("rw_spinlock") rw_spinlock {
public:
  void lock_shared() noexcept MV_ACQUIRE_SHARED() {
    for (unsigned spins = 0;; ++spins) {
      auto s = state_.load(std::memory_order_relaxed);
      if (s >= 0 && state_.compare_exchange_weak(s, s + 1, std::memory_order_acquire,
                                                 std::memory_order_relaxed))
        return;
      backoff(spins);
    }
  }
  void unlock_shared() noexcept MV_RELEASE_SHARED() {
    state_.fetch_sub(1, std::memory_order_release);
  }

  void lock() noexcept MV_ACQUIRE() {
    for (unsigned spins = 0;; ++spins) {
      std::int32_t expected = 0;
      if (state_.compare_exchange_weak(expected, -1, std::memory_order_acquire,
                                       std::memory_order_relaxed))
        return;
      backoff(spins);
    }
  }
  void unlock() noexcept MV_RELEASE() { state_.store(0, std::memory_order_release); }

private:
  static void backoff(unsigned spins) noexcept {
    if (spins < 64) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
    } else {
      std::this_thread::yield();
    }
  }
  std::atomic<std::int32_t> state_{0}; // -1 = writer, n > 0 = n readers
};

} // namespace minivault::storage
