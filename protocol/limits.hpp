#pragma once
// Documented defaults and hard limits shared by every part of minivault.
// Units are the last part of each name.
#include <cstddef>
#include <cstdint>

namespace minivault {

// -- wire -----------------------------------------------------------------------------
inline constexpr std::size_t key_bytes_max = 65535;               // u16 key length
inline constexpr std::size_t value_bytes_max_default = 64u << 20; // 64 MiB
/// Configurable up to 512 MiB: a record (value + key + header) must stay under SQLite's
/// default blob limit of 10^9 bytes.
inline constexpr std::size_t value_bytes_max_ceiling = 512u << 20;
/// Error reply payload. Not checked in code: binary error replies carry an errc text or
/// the protected-mode notice, all shorter.
inline constexpr std::size_t reason_bytes_max = 256;

// -- node defaults (protocol/README.md §7) -----------------------------------------------
inline constexpr std::uint16_t binary_port_default = 3000;
inline constexpr const char* data_dir_default = "./data";
inline constexpr std::size_t cache_mb_default = 512;
inline constexpr std::size_t workers_default = 50;
inline constexpr const char* region_default = "local";
inline constexpr std::uint32_t fsync_interval_ms_default = 100;
/// A binary client stalled mid-frame, or not reading its replies, is closed after this.
inline constexpr std::uint32_t stall_timeout_ms_default = 30000;

// -- cluster defaults (protocol/README.md §4) ---------------------------------------------
inline constexpr std::size_t replication_factor_default = 3;
inline constexpr std::size_t write_quorum_default = 2;
/// A write or quorum read that has not reached its quorum by then fails with `timeout`.
inline constexpr std::uint32_t request_timeout_ms_default = 2000;
/// With -cluster-port 0, the peer port is the client port plus this.
inline constexpr std::uint32_t cluster_port_offset = 1000;

// -- server ------------------------------------------------------------------------------
inline constexpr std::size_t connections_max_default = 10000;
/// Writes a node keeps waiting for other regions (its outbox, all regions together;
/// -geo-backlog-max). Past it a write's partition is marked for cross-region repair.
inline constexpr std::size_t geo_backlog_max_default = 1u << 20;
/// Replies queued but not yet written, per connection; past it the node stops reading
/// that connection until the client drains its replies.
inline constexpr std::size_t conn_pending_replies_max = 4096;
inline constexpr std::size_t conn_out_bytes_soft_max = 8u << 20;
/// Reads a connection may have waiting on other replicas (quorum reads, reads a node
/// forwards), and an I/O thread in total: their sizes are unknown until they arrive, so
/// they are bounded by count; past it the node stops reading that connection.
inline constexpr std::size_t conn_remote_reads_max = 4;
inline constexpr std::size_t thread_remote_reads_max = 1024;
/// Keys one batched read asks a peer for (its endpoint refuses more): a client batch
/// never holds more reads than its I/O thread may have waiting.
inline constexpr std::size_t read_keys_max = thread_remote_reads_max;
/// A batched read's answer stops adding records past this many bytes (it always holds
/// one); the asker asks again for the keys left. Large values then travel one per
/// message, as they would one read at a time, instead of piling up in one reply and in
/// both nodes' BASP buffers (measured: 4 pipelined reads of a 4 MiB value per batch took
/// the coordinator's RSS from +32-52 MiB to +80-91 MiB without the bound).
inline constexpr std::size_t read_reply_bytes_soft_max = 1u << 20;
/// Bytes of writes one I/O thread hands to storage in one batch message.
inline constexpr std::size_t batch_bytes_max = 8u << 20;
/// Batches one I/O thread may have in flight at the storage actor, by count and by
/// bytes (one batch over the byte bound may still go alone).
inline constexpr std::size_t batches_in_flight_max = 64;
inline constexpr std::size_t batch_in_flight_bytes_max = 32u << 20;
/// A batch is handed over as soon as it holds this many writes or bytes, without waiting
/// for the end of the event-loop round: the writer starts committing while the I/O
/// thread still reads, and the first replies go out sooner. (Measured: SETs at 16 in
/// flight, 50 connections, were bound by the round trip, not by either thread.)
inline constexpr std::size_t batch_eager_ops = 32;
inline constexpr std::size_t batch_eager_bytes = 64u << 10;
/// The same in a cluster, where every batch costs one message per replica (and a BASP
/// message ~35 us of CPU on each side): fewer, larger batches.
inline constexpr std::size_t cluster_batch_eager_ops = 256;
inline constexpr std::size_t cluster_batch_eager_bytes = 256u << 10;
/// Batches one I/O thread may have in flight at the replication actor: one. While it is
/// out, the next batch fills with whatever arrives meanwhile, so a batch carries one
/// replication round trip's worth of writes, and each of its messages (a share per
/// replica, each answer) is paid once for all of them. Nothing waits longer for it: the
/// outcomes are released in ticket order anyway (ordered_outcomes), so a later batch's
/// replies could not go out before this one's. Measured on 3 nodes on 2 cores, SET at 50
/// connections x 1 in flight, interleaved runs: CPU per acknowledged write (A+B+C)
/// 41-56 us with 64 in flight, 36-39 us with 1, 42-62 us with 2 or 3, and more writes
/// per second with 1; at 16 in flight 8.7-9.0 us -> 7.5-7.6 us.
inline constexpr std::size_t cluster_batches_in_flight_max = 1;

// -- http -------------------------------------------------------------------------------
/// The largest request head (request line plus headers); beyond it 431 and close.
inline constexpr std::size_t http_head_bytes_max = 16u << 10;
/// Deepest nesting of JSON arrays and objects in a PUT body, the body object included
/// (http/json_text.hpp has the exact rule).
inline constexpr std::size_t json_depth_max = 512;
/// A PUT body may exceed the value limit by this much (the `{"value": ...}` envelope and
/// other members); beyond it the body is refused with 413 before it is read.
inline constexpr std::size_t http_body_overhead_bytes = 64u << 10;
/// Slow clients: an HTTP request must arrive whole within this long of its first byte,
/// and an idle keep-alive connection closes after it (checked once a second).
inline constexpr std::uint32_t http_timeout_ms_default = 10000;

// -- storage -----------------------------------------------------------------------------
/// A log segment (one SQLite row) is closed once it holds this many bytes.
inline constexpr std::size_t segment_bytes_target = 256u << 10;
/// Values at least this large are zstd-compressed at rest when it pays.
inline constexpr std::size_t compress_bytes_min_default = 4096;
inline constexpr std::uint32_t shutdown_watchdog_ms = 5000;

} // namespace minivault
