#include "http/request_target.hpp"

#include "protocol/limits.hpp"
#include "protocol/security.hpp"

namespace minivault::http {

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

} // namespace

bool ascii_iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    int hi = i + 1 < in.size() ? hex_value(in[i + 1]) : -1;
    int lo = i + 2 < in.size() ? hex_value(in[i + 2]) : -1;
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

parsed_target parse_target(std::string_view raw) {
  parsed_target t;
  std::string_view path = raw.substr(0, raw.find('?'));
  if (path.empty() || path.front() != '/') {
    t.error = "the request target must be a path starting with '/'";
    return t;
  }
  if (path == "/health") {
    t.kind = target_kind::health;
    return t;
  }
  if (path == "/metrics") {
    t.kind = target_kind::metrics;
    return t;
  }
  if (!percent_decode(path.substr(1), t.key)) {
    t.error = "bad percent-encoding in the key";
    return t;
  }
  if (t.key.empty()) {
    t.error = "missing key: use /<key>";
    return t;
  }
  if (t.key.size() > key_bytes_max) {
    t.error = "key longer than " + std::to_string(key_bytes_max) + " bytes";
    return t;
  }
  std::size_t q = raw.find('?');
  std::string_view query = q == std::string_view::npos ? std::string_view{} : raw.substr(q + 1);
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    constexpr std::string_view name = "consistency=";
    if (param.substr(0, name.size()) != name) continue;
    std::string_view v = param.substr(name.size());
    t.level = parse_consistency(v);
    if (!t.level) {
      t.error = "consistency must be " + consistency_choices();
      return t;
    }
    t.quorum = *t.level != consistency::one;
  }
  t.kind = target_kind::key;
  return t;
}

bool bearer_matches(std::string_view authorization, std::string_view secret) noexcept {
  constexpr std::string_view scheme = "bearer";
  if (authorization.size() <= scheme.size() ||
      !ascii_iequals(authorization.substr(0, scheme.size()), scheme) ||
      authorization[scheme.size()] != ' ')
    return false;
  std::string_view token = authorization.substr(scheme.size() + 1);
  while (!token.empty() && token.front() == ' ')
    token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t'))
    token.remove_suffix(1);
  return constant_time_equal(token, secret);
}

} // namespace minivault::http
