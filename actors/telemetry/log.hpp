#pragma once
// Minimal leveled logging to stderr: one line per event, timestamped. Thread-safe
// (a single fprintf per line).
#include <string>

namespace minivault {

enum class log_level : int { error = 0, warning = 1, info = 2, debug = 3 };

void set_log_level(const std::string& name);
void log(log_level level, const std::string& message);

} // namespace minivault
