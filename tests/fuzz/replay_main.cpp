// Corpus replay without libFuzzer: the normal (g++) build links each target with this
// main, and ctest runs it on the target's corpus directory, so every `make test` feeds
// every stored input to LLVMFuzzerTestOneInput once. A broken invariant aborts (the
// targets check with KV_ASSERT); the exit status is 0 only when every file was read and
// at least one was found (an empty or missing corpus is a setup error, not a pass).
//
// Usage: <target>_fuzz_replay PATH...   (a PATH is a corpus directory or one input file)
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

namespace fs = std::filesystem;

bool read_whole(const fs::path& p, std::string& out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return !in.bad();
}

} // namespace

int main(int argc, char** argv) {
  std::vector<fs::path> files;
  for (int i = 1; i < argc; ++i) {
    std::error_code ec;
    if (fs::is_directory(argv[i], ec)) {
      for (const auto& e : fs::recursive_directory_iterator(argv[i], ec))
        if (e.is_regular_file()) files.push_back(e.path());
    } else if (fs::is_regular_file(argv[i], ec)) {
      files.emplace_back(argv[i]);
    } else {
      std::fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
      return 2;
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "replay: no inputs found\n");
    return 2;
  }
  std::sort(files.begin(), files.end()); // the same order on every machine
  const auto start = std::chrono::steady_clock::now();
  std::string bytes;
  for (const auto& f : files) {
    if (!read_whole(f, bytes)) {
      std::fprintf(stderr, "replay: cannot read %s\n", f.c_str());
      return 2;
    }
    // A copy of exactly the file's size, so reads past the end stay detectable.
    std::vector<std::uint8_t> input(bytes.begin(), bytes.end());
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  std::printf("replayed %zu inputs in %lld ms\n", files.size(), static_cast<long long>(ms));
  return 0;
}
