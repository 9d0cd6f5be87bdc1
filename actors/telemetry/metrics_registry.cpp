#include "actors/telemetry/metrics_registry.hpp"

#include "protocol/assert.hpp"

namespace minivault {

family_writer family_cursor::next() {
  KV_ASSERT(next_ < families_.size()); // a collector writes only the families it registered
  return family_writer(out_, families_[next_++]);
}

status metrics_registry::add(metric_family family, samples_fn samples) {
  if (!samples) return status(errc::config_error, "metric " + family.name + ": no samples");
  std::vector<metric_family> one;
  one.push_back(std::move(family));
  return add_collector(std::move(one), [samples = std::move(samples)](family_cursor& c) {
    family_writer w = c.next();
    samples(w);
  });
}

status metrics_registry::add_collector(std::vector<metric_family> families, collect_fn collect) {
  // Checked before anything else: after seal() a scrape may be reading collectors_.
  if (sealed()) return status(errc::config_error, "metrics are registered before the node starts");
  if (families.empty()) return status(errc::config_error, "a metric collector without families");
  if (families.size() > families_max - families_)
    return status(errc::too_large,
                  "more than " + std::to_string(families_max) + " metric families");
  for (std::size_t i = 0; i < families.size(); ++i) {
    const std::string& name = families[i].name;
    if (!valid_metric_name(name))
      return status(errc::config_error, "invalid metric name \"" + name + "\"");
    if (families[i].help.find_first_of("\n\\") != std::string::npos)
      return status(errc::config_error, "metric " + name + ": help must be one plain line");
    bool repeated = registered(name);
    for (std::size_t j = 0; j < i && !repeated; ++j)
      repeated = families[j].name == name;
    if (repeated) return status(errc::config_error, "metric " + name + " is registered twice");
  }
  families_ += families.size();
  collectors_.push_back(collector{std::move(families), std::move(collect)});
  return {};
}

bool metrics_registry::registered(const std::string& name) const noexcept {
  for (const auto& c : collectors_)
    for (const auto& f : c.families)
      if (f.name == name) return true;
  return false;
}

std::string metrics_registry::render() const {
  KV_ASSERT(sealed()); // before seal() a registration could race this read
  std::string out;
  out.reserve(16 << 10);
  for (const auto& c : collectors_) {
    family_cursor cursor(out, c.families);
    c.collect(cursor);
    KV_ASSERT(cursor.done()); // every registered family is announced
  }
  return out;
}

} // namespace minivault
