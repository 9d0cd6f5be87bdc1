#pragma once
// KV_ASSERT stays on in release builds: a broken invariant stops the process loudly
// instead of corrupting data quietly.
#include <cstdio>
#include <cstdlib>

#define KV_ASSERT(cond)                                                                            \
  do {                                                                                             \
    if (__builtin_expect(!(cond), 0)) {                                                            \
      std::fprintf(stderr, "minivault: assertion failed: %s (%s:%d)\n", #cond, __FILE__,           \
                   __LINE__);                                                                      \
      std::abort();                                                                                \
    }                                                                                              \
  } while (false)
