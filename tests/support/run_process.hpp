#pragma once
// run_process: runs a program to completion with stdin fed from a string and stdout and
// stderr captured, for tests of command-line tools (minivault-cli, minivault-bench).
//
// Contract: the child inherits this environment minus the `drop_env` names, plus `env`
// ("NAME=value"). Pipes are pumped with poll, so neither side blocks the other; a child
// silent for 120 s is given up on (its pipes closed) and then waited for.
#include <string>
#include <vector>

namespace minivault::test {

struct run_result {
  int exit_code = -1; // -1 when killed by a signal or not started
  std::string out;
  std::string err;
};

run_result run_process(const std::string& binary, const std::vector<std::string>& args,
                       const std::string& input = {}, const std::vector<std::string>& env = {},
                       const std::vector<std::string>& drop_env = {});

} // namespace minivault::test
