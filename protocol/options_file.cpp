// Config files (-config FILE): INI lines `key = value`, each key an option of the table
// (options_table.cpp) without dashes, applied in order with `file:line` in every error;
// and parse_config_text, the same for text already in memory (tests, the fuzzer).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>

#include "protocol/options_impl.hpp"

namespace minivault {
namespace options_detail {

namespace {

constexpr std::size_t config_file_bytes_max = 1u << 20;

// Value text after '=': either "quoted" (\" and \\ escapes) or bare. In a bare value a
// '#' or ';' that starts a word begins a comment; quote values that need one.
std::string unquote_value(std::string_view v, std::string& out) {
  out.clear();
  if (v.empty() || v.front() != '"') {
    for (std::size_t i = 0; i < v.size(); ++i) {
      if ((v[i] == '#' || v[i] == ';') && (i == 0 || is_space(v[i - 1]))) {
        v = v.substr(0, i);
        break;
      }
    }
    out = std::string(trim(v));
    return {};
  }
  for (std::size_t i = 1; i < v.size(); ++i) {
    char c = v[i];
    if (c == '\\' && i + 1 < v.size() && (v[i + 1] == '"' || v[i + 1] == '\\')) {
      out += v[++i];
    } else if (c == '"') {
      auto rest = trim(v.substr(i + 1));
      if (!rest.empty() && rest.front() != '#' && rest.front() != ';')
        return "unexpected text after the closing quote";
      return {};
    } else {
      out += c;
    }
  }
  return "missing closing quote";
}

// Applies one non-blank, non-comment line. Returns "" or the message without location.
std::string apply_config_line(std::string_view line, node_options& o,
                              std::map<std::string, std::size_t, std::less<>>& seen,
                              std::size_t line_no) {
  if (line.front() == '[') {
    if (line.back() != ']') return "malformed section header " + quoted(line);
    return {}; // sections only group keys for the reader
  }
  auto eq = line.find('=');
  if (eq == std::string_view::npos)
    return "missing '=' in " + quoted(line) + " (expected 'key = value')";
  auto key = trim(line.substr(0, eq));
  if (key.empty()) return "missing key before '='";
  if (key == "config") return "key 'config' is not allowed in a config file (no nesting)";
  const option_desc* d = find_option(key);
  if (d == nullptr) return "unknown key " + quoted(key);
  if (auto it = seen.find(key); it != seen.end())
    return "duplicate key " + quoted(key) + " (first set on line " + num(it->second) + ")";
  seen.emplace(std::string(key), line_no);
  std::string value;
  auto err = unquote_value(trim(line.substr(eq + 1)), value);
  if (err.empty()) err = d->set(o, value);
  if (!err.empty()) return "invalid value for " + quoted(key) + ": " + err;
  return {};
}

} // namespace

// Applies every line of `text` over `o`, without the cross-setting checks (the command
// line may still complete the picture). Errors are "origin:line: message".
std::string load_config(std::string_view text, const std::string& origin, node_options& o) {
  std::map<std::string, std::size_t, std::less<>> seen;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    auto nl = text.find('\n');
    auto raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    auto line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    auto err = apply_config_line(line, o, seen, line_no);
    if (!err.empty()) return origin + ":" + num(line_no) + ": " + err;
  }
  return {};
}

std::string read_file(const std::string& path, std::string& out) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return "cannot open " + quoted(path) + ": " + std::strerror(errno);
  out.clear();
  char buf[8192];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && out.size() <= config_file_bytes_max)
    out.append(buf, n);
  int read_errno = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (read_errno != 0) return "cannot read " + quoted(path) + ": " + std::strerror(read_errno);
  if (out.size() > config_file_bytes_max)
    return quoted(path) + " is larger than " + num(config_file_bytes_max) + " bytes";
  return {};
}

} // namespace options_detail

using namespace options_detail;

options_result parse_config_text(const std::string& text, const std::string& origin,
                                 node_options base) {
  auto err = load_config(text, origin, base);
  if (err.empty()) {
    err = validate(base);
    if (!err.empty()) err = origin + ": " + err;
  }
  if (!err.empty()) return failure(std::move(err));
  options_result r;
  r.options = std::move(base);
  return r;
}

} // namespace minivault
