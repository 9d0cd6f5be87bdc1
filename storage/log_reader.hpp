#pragma once
// Reading the log for the open's replay on a thread of its own. SQLite's row reads, the
// records' checksums and decoding, and the keys' hashes happen there, while the opening
// thread publishes the rows read before into the index: with 2M keys the reading side was
// about a quarter of the open's CPU.
//
// Contract: rows come out in `seq` order, each exactly once, through a queue bounded at
// `depth` rows whose buffers are reused (so memory stays at `depth` rows, 256 KiB each
// at most, however large the log). While a reader lives, nothing else may use its
// `sqlite_log`. Destroying a reader stops its thread and joins it, also mid-scan.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "protocol/status.hpp"
#include "protocol/thread_annotations.hpp"
#include "storage/record.hpp"
#include "storage/sqlite_log.hpp"
#include "storage/table.hpp"

namespace minivault::storage {

/// One log row, read and checked: its bytes, the records of its valid prefix with their
/// locations, and their keys' hashes (`table::hash_key`), in log order.
struct scanned_row {
  std::uint64_t seq = 0;
  std::string body;                                   // the row as stored
  std::vector<std::pair<record_view, location>> recs; // views into `body`
  std::vector<std::uint64_t> hashes;                  // hashes[i]: recs[i]'s key
  std::size_t good = 0;                               // bytes of valid records
  bool corrupt = false;                               // a bad record ended the row at `good`
};

class log_reader {
public:
  static constexpr std::size_t depth_default = 4;

  /// Starts reading every row of `log` on a new thread.
  explicit log_reader(sqlite_log& log, std::size_t depth = depth_default);
  ~log_reader();
  log_reader(const log_reader&) = delete;
  log_reader& operator=(const log_reader&) = delete;

  /// The next row (waits for it), or nullptr once every row was handed out or the scan
  /// failed (`finish` says which). The row is the caller's until it is given back.
  [[nodiscard]] scanned_row* next();
  /// Gives a row from `next` back for reuse.
  void recycle(scanned_row* row);
  /// Waits for the thread to end; the scan's status (an SQLite error while reading).
  [[nodiscard]] status finish();

private:
  void run();
  /// A row to fill (waits for one); nullptr when the reader is being destroyed.
  scanned_row* take_free();

  sqlite_log& log_;
  std::vector<std::unique_ptr<scanned_row>> rows_; // owns every row, `depth` of them
  mutex mutex_;
  std::condition_variable_any filled_, freed_;
  std::vector<scanned_row*> free_ MV_GUARDED_BY(mutex_);
  std::deque<scanned_row*> full_ MV_GUARDED_BY(mutex_); // oldest first
  bool done_ MV_GUARDED_BY(mutex_) = false;             // the scan has ended
  bool stopping_ MV_GUARDED_BY(mutex_) = false;         // the destructor runs
  status scanned_ MV_GUARDED_BY(mutex_);
  std::thread thread_;
};

} // namespace minivault::storage
