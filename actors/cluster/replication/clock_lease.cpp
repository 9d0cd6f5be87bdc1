#include "actors/cluster/replication/clock_lease.hpp"

#include <cstdio>
#include <fstream>

namespace minivault {

std::uint64_t read_clock_lease(const std::string& path) {
  std::ifstream in(path);
  unsigned long long v = 0;
  if (!(in >> v)) return 0;
  return static_cast<std::uint64_t>(v);
}

bool write_clock_lease(const std::string& path, std::uint64_t lease) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!(out << static_cast<unsigned long long>(lease) << '\n')) return false;
    out.flush();
    if (!out) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

} // namespace minivault
