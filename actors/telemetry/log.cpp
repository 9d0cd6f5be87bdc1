#include "actors/telemetry/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace minivault {

namespace {
std::atomic<int> threshold{static_cast<int>(log_level::info)};
const char* names[] = {"error", "warning", "info", "debug"};
} // namespace

void set_log_level(const std::string& name) {
  for (int i = 0; i < 4; ++i)
    if (name == names[i]) threshold = i;
}

void log(log_level level, const std::string& message) {
  if (static_cast<int>(level) > threshold.load(std::memory_order_relaxed)) return;
  auto now = std::chrono::system_clock::now();
  std::time_t t = std::chrono::system_clock::to_time_t(now);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
  std::fprintf(stderr, "%s.%03dZ %-7s %s\n", stamp, static_cast<int>(ms),
               names[static_cast<int>(level)], message.c_str());
}

} // namespace minivault
