#pragma once
// The Prometheus text exposition format (version 0.0.4), one metric family at a time:
// `# HELP` and `# TYPE` lines, then the family's samples. The metrics registry drives it;
// a component's collector only sees the `family_writer` of the family it registered.
//
// Thread-safety: a writer appends to the string it was given and is used by one thread
// (the one rendering a scrape); several scrapes use several writers.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace minivault {

enum class metric_type : std::uint8_t { counter, gauge, histogram };

[[nodiscard]] const char* to_string(metric_type t) noexcept;

/// What `# HELP` and `# TYPE` announce about a family.
struct metric_family {
  std::string name; // [a-zA-Z_:][a-zA-Z0-9_:]*, unique in a registry
  std::string help; // one line, no backslash
  metric_type type = metric_type::gauge;
};

/// True if `name` is a valid Prometheus metric name.
[[nodiscard]] bool valid_metric_name(std::string_view name) noexcept;

/// One label, `name="value"`, for a value that may need escaping (a name an operator
/// chose, e.g. a region): backslash, double quote and newline escaped.
[[nodiscard]] std::string label(std::string_view name, std::string_view value);

/// Writes the samples of one family. Labels are given already joined, `k="v",k="v"` (or
/// empty); a value that may need escaping is made with label().
class family_writer {
public:
  /// Appends the family's `# HELP` and `# TYPE` lines to `out`; `family` must outlive
  /// the writer.
  family_writer(std::string& out, const metric_family& family);

  /// A counter or gauge sample. Only in counter and gauge families.
  void sample(std::string_view labels, std::uint64_t value);
  void sample(std::uint64_t value) { sample({}, value); }

  /// One histogram series: cumulative `_bucket` samples (the last `le="+Inf"`), `_sum`
  /// and `_count`. `bounds` are the buckets' upper bounds and `buckets` the (not
  /// cumulative) counts per bucket, the last past every bound; `unit` converts both
  /// bounds and `sum` to the family's unit (1e-6: microseconds to seconds). Only in
  /// histogram families.
  template <std::size_t N>
  void histogram(std::string_view labels, const std::array<std::uint64_t, N>& bounds, double unit,
                 const std::array<std::uint64_t, N + 1>& buckets, std::uint64_t sum) {
    histogram(labels, bounds.data(), buckets.data(), N, unit, sum);
  }

private:
  void histogram(std::string_view labels, const std::uint64_t* bounds, const std::uint64_t* buckets,
                 std::size_t bounds_count, double unit, std::uint64_t sum);
  /// `name``suffix`{`labels`} `value`\n
  void line(std::string_view suffix, std::string_view labels, std::string_view value);

  std::string& out_;
  const metric_family& family_;
};

} // namespace minivault
