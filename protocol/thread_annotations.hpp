#pragma once
// Clang thread-safety analysis (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html):
// the macros say which lock guards a field and which lock a function needs, and
// `clang -Wthread-safety` checks every access at compile time (tests/lint/thread_safety.sh,
// run by `make test`). Under GCC they expand to nothing.
//
// libstdc++'s std::mutex and std::lock_guard carry no annotations, so state guarded by a
// mutex uses the annotated wrappers below instead:
//
//   class peer_board {
//     mutable minivault::mutex mutex_;
//     std::vector<peer_view> peers_ MV_GUARDED_BY(mutex_);
//   public:
//     void publish(std::vector<peer_view> p) {
//       minivault::lock_guard lock(mutex_);
//       peers_ = std::move(p);
//     }
//   };
//
// A lock that is not a minivault::mutex (storage/rw_spinlock.hpp) declares itself a
// capability with MV_CAPABILITY and annotates its lock/unlock functions.
#include <mutex>

#if defined(__clang__)
#define MV_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define MV_THREAD_ANNOTATION(x) // GCC has no thread-safety analysis
#endif

/// On a class: it is a lock (a "capability") named `name` in diagnostics.
#define MV_CAPABILITY(name) MV_THREAD_ANNOTATION(capability(name))
/// On a class: an RAII object that holds a capability for its lifetime.
#define MV_SCOPED_CAPABILITY MV_THREAD_ANNOTATION(scoped_lockable)
/// On a field: read and written only while holding `x` (reads: shared is enough).
#define MV_GUARDED_BY(x) MV_THREAD_ANNOTATION(guarded_by(x))
/// On a pointer field: the pointee is accessed only while holding `x`.
#define MV_PT_GUARDED_BY(x) MV_THREAD_ANNOTATION(pt_guarded_by(x))
/// On a function: the caller holds the capabilities exclusively / at least shared.
#define MV_REQUIRES(...) MV_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define MV_REQUIRES_SHARED(...) MV_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
/// On a function: it acquires / releases the capabilities (no argument: `this`).
#define MV_ACQUIRE(...) MV_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define MV_ACQUIRE_SHARED(...) MV_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#define MV_RELEASE(...) MV_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define MV_RELEASE_SHARED(...) MV_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
/// On a function returning bool: acquires the capability when it returns `success`.
#define MV_TRY_ACQUIRE(...) MV_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define MV_TRY_ACQUIRE_SHARED(...) MV_THREAD_ANNOTATION(try_acquire_shared_capability(__VA_ARGS__))
/// On a function: the caller must not hold the capabilities (it takes them itself).
#define MV_EXCLUDES(...) MV_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
/// On a function: returns a reference to the capability `x`.
#define MV_RETURN_CAPABILITY(x) MV_THREAD_ANNOTATION(lock_returned(x))
/// On a function: not checked. Only with a comment saying why the access is safe.
#define MV_NO_THREAD_SAFETY_ANALYSIS MV_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace minivault {

/// std::mutex, annotated as a capability. Same cost, same semantics.
class MV_CAPABILITY("mutex") mutex {
public:
  mutex() = default;
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;

  void lock() MV_ACQUIRE() { m_.lock(); }
  void unlock() MV_RELEASE() { m_.unlock(); }
  [[nodiscard]] bool try_lock() MV_TRY_ACQUIRE(true) { return m_.try_lock(); }

  /// For std::condition_variable and other std facilities; bypasses the analysis.
  [[nodiscard]] std::mutex& native() noexcept { return m_; }

private:
  std::mutex m_;
};

/// std::lock_guard for minivault::mutex: holds the lock from construction to the end
/// of the scope. With std::adopt_lock it takes over a lock the caller already holds
/// (after a successful try_lock()).
class MV_SCOPED_CAPABILITY lock_guard {
public:
  explicit lock_guard(mutex& m) MV_ACQUIRE(m) : m_(m) { m_.lock(); }
  lock_guard(mutex& m, std::adopt_lock_t) MV_REQUIRES(m) : m_(m) {}
  ~lock_guard() MV_RELEASE() { m_.unlock(); }
  lock_guard(const lock_guard&) = delete;
  lock_guard& operator=(const lock_guard&) = delete;

private:
  mutex& m_;
};

} // namespace minivault
