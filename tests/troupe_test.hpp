#pragma once

// Helpers shared by Troupe's CAF unit tests.

#include "caf/test/unit_test.hpp"

/// Like CAF_CHECK, but prints `msg` (a stream expression) when `cond` is false.
#define TROUPE_CHECK_MSG(cond, msg)                                                                \
  do {                                                                                             \
    using caf::term;                                                                               \
    if (cond)                                                                                      \
      CAF_CHECK_PASSED(#cond);                                                                     \
    else                                                                                           \
      CAF_CHECK_FAILED(#cond << " -- " << msg);                                                    \
  } while (false)
