#include "actors/telemetry/prometheus_text.hpp"

#include <cstdio>

#include "protocol/assert.hpp"
#include "protocol/enum_names.hpp"

namespace minivault {

const char* to_string(metric_type t) noexcept {
  static constexpr const char* names[] = {"counter", "gauge", "histogram"};
  return enum_name(t, names, "untyped");
}

std::string label(std::string_view name, std::string_view value) {
  std::string out(name);
  out += "=\"";
  for (char ch : value) {
    if (ch == '\n') {
      out += "\\n";
      continue;
    }
    if (ch == '\\' || ch == '"') out += '\\';
    out += ch;
  }
  out += '"';
  return out;
}

bool valid_metric_name(std::string_view name) noexcept {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

family_writer::family_writer(std::string& out, const metric_family& family)
    : out_(out), family_(family) {
  out_ += "# HELP ";
  out_ += family_.name;
  out_ += ' ';
  out_ += family_.help;
  out_ += "\n# TYPE ";
  out_ += family_.name;
  out_ += ' ';
  out_ += to_string(family_.type);
  out_ += '\n';
}

void family_writer::sample(std::string_view labels, std::uint64_t value) {
  KV_ASSERT(family_.type != metric_type::histogram);
  line({}, labels, std::to_string(value));
}

void family_writer::histogram(std::string_view labels, const std::uint64_t* bounds,
                              const std::uint64_t* buckets, std::size_t bounds_count, double unit,
                              std::uint64_t sum) {
  KV_ASSERT(family_.type == metric_type::histogram);
  std::string bucket_labels(labels);
  if (!labels.empty()) bucket_labels += ',';
  const std::size_t prefix = bucket_labels.size();
  std::uint64_t cumulative = 0;
  char buf[32];
  for (std::size_t i = 0; i <= bounds_count; ++i) {
    cumulative += buckets[i];
    bucket_labels.resize(prefix);
    bucket_labels += "le=\"";
    if (i == bounds_count) {
      bucket_labels += "+Inf";
    } else {
      std::snprintf(buf, sizeof(buf), "%g", static_cast<double>(bounds[i]) * unit);
      bucket_labels += buf;
    }
    bucket_labels += '"';
    line("_bucket", bucket_labels, std::to_string(cumulative));
  }
  std::snprintf(buf, sizeof(buf), "%.12g", static_cast<double>(sum) * unit);
  line("_sum", labels, buf);
  line("_count", labels, std::to_string(cumulative));
}

void family_writer::line(std::string_view suffix, std::string_view labels, std::string_view value) {
  out_ += family_.name;
  out_ += suffix;
  if (!labels.empty()) {
    out_ += '{';
    out_ += labels;
    out_ += '}';
  }
  out_ += ' ';
  out_ += value;
  out_ += '\n';
}

} // namespace minivault
