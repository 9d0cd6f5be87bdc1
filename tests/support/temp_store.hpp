#pragma once
// A storage engine on a fresh temporary directory, removed again on destruction.
// Header-only so tests that link mv_storage can use it without more wiring.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "storage/engine.hpp"

namespace minivault::test {

struct temp_store {
  std::string dir;
  std::unique_ptr<storage::engine> engine;

  /// Opens an engine in a new mkdtemp directory named after `prefix`; on failure the
  /// test fails and `engine` stays null.
  explicit temp_store(const std::string& prefix, storage::engine_options opts = {}) {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp failed";
      return;
    }
    dir = tmpl;
    opts.dir = dir;
    auto opened = storage::engine::open(opts);
    if (opened)
      engine = std::move(opened).value();
    else
      ADD_FAILURE() << "engine::open: " << opened.error().reason();
  }
  ~temp_store() {
    engine.reset();
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }
  temp_store(const temp_store&) = delete;
  temp_store& operator=(const temp_store&) = delete;
};

} // namespace minivault::test
