// minivault-cli: get/set/del/health against one node, for humans and shell scripts.
// Exit codes: 0 ok, 1 not found, 2 error. Errors go to stderr, values to stdout.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "client/cli_args.hpp"
#include "client/client.hpp"

namespace {

using namespace minivault::client;

constexpr int exit_ok = 0;
constexpr int exit_not_found = 1;
constexpr int exit_error = 2;

int report(const result& r) {
  if (r.ok()) return exit_ok;
  if (r.not_found()) {
    std::cerr << "minivault-cli: not found\n";
    return exit_not_found;
  }
  std::cerr << "minivault-cli: " << r.message() << "\n";
  return exit_error;
}

/// Reads all of stdin, refusing more than the largest value a node can accept.
bool read_stdin(std::string& out) {
  char buf[64 << 10];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), stdin)) > 0) {
    out.append(buf, n);
    if (out.size() > minivault::value_bytes_max_ceiling) return false;
  }
  return !std::ferror(stdin);
}

/// Writes the value; false when stdout refused it (full disk, closed pipe).
bool write_raw(const std::string& bytes) {
  std::fwrite(bytes.data(), 1, bytes.size(), stdout);
  // A terminal gets a trailing newline; a pipe gets the exact bytes.
  if (::isatty(STDOUT_FILENO) && (bytes.empty() || bytes.back() != '\n')) std::fputc('\n', stdout);
  return std::fflush(stdout) == 0 && !std::ferror(stdout);
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  cli_args a;
  std::string err = parse_cli_args(args, std::getenv("MINIVAULT_AUTH"), a);
  if (!err.empty()) {
    std::cerr << "minivault-cli: " << err << "\n\n" << cli_usage();
    return exit_error;
  }
  if (a.command == cli_command::help) {
    std::cout << cli_usage();
    return exit_ok;
  }

  client c(a.conn);
  switch (a.command) {
  case cli_command::get:
  case cli_command::qget: {
    result r = a.command == cli_command::qget ? c.get_quorum(a.key) : c.get(a.key);
    if (r.ok() && !write_raw(r.value)) {
      std::cerr << "minivault-cli: could not write the value to stdout\n";
      return exit_error;
    }
    return report(r);
  }
  case cli_command::set: {
    std::string value;
    if (a.value) {
      value = std::move(*a.value);
    } else if (!read_stdin(value)) {
      std::cerr << "minivault-cli: could not read the value from stdin (or it is too large)\n";
      return exit_error;
    }
    return report(c.set(a.key, value));
  }
  case cli_command::del:
    return report(c.del(a.key));
  case cli_command::health: {
    result r = c.health();
    if (!r.ok()) return report(r);
    auto doc = nlohmann::ordered_json::parse(r.value, nullptr, false);
    std::cout << (doc.is_discarded() ? r.value : doc.dump(2)) << "\n";
    return exit_ok;
  }
  case cli_command::help:
    break;
  }
  return exit_ok;
}
