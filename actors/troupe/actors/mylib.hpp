#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>

#include "troupe/duration.hpp"

/// A stand-in for the licensed vendor library of the slow-config problem. It keeps the vendor's
/// function names (`readConfig`) because it models a foreign API, and it behaves like the real one
/// where it matters: every call after `init` must come from the thread that called `init`, or the
/// process dies; `readConfig` blocks its caller for a random time.
namespace troupe::mylib {

/// How the stand-in behaves.
struct settings {
  /// `readConfig` sleeps a uniformly random time in [read_config_min, read_config_max].
  timespan read_config_min{0};
  timespan read_config_max{std::chrono::seconds{30}};
  /// Seed of the random durations; 0 picks a random seed.
  uint64_t seed = 0;
  /// Probability that a `readConfig` crashes (throws `mylib::crash`) instead of finishing, to
  /// exercise restarts. The real library would take the process down; the stand-in takes down
  /// only the thread's caller, which is what a supervisor can recover from.
  double crash_probability = 0;
};

/// Thrown by `readConfig` when the stand-in simulates a crash.
struct crash : std::runtime_error {
  crash() : std::runtime_error("mylib: readConfig crashed") {
    // nop
  }
};

/// Called on a thread-affinity violation with the function name and the problem. The default
/// prints both to stderr and aborts the process, as the real library would crash it.
using violation_handler = void (*)(const char* function, const char* problem);

/// Replaces the violation handler (tests record violations instead of aborting); returns the old
/// one.
violation_handler set_violation_handler(violation_handler fn);

/// One instance of the library.
/// @note Deliberately not thread-safe, like the vendor's: only `interrupt` may be called from
///       another thread.
class library {
public:
  explicit library(settings cfg = {});

  /// Initializes the library and binds it to the calling thread.
  void init();

  /// Re-reads the configuration; blocks for the configured time (or until `interrupt`).
  void readConfig();

  /// Computes with the current configuration: returns `x + 1`.
  int calc(int x);

  /// Releases the library; afterwards it may be `init`ed again, from any thread.
  void uninit();

  /// Stand-in only: ends a running or future `readConfig` at once, so that a node can shut down
  /// without waiting up to 30 s. Thread-safe.
  void interrupt();

  /// Returns the number of calls that passed the thread check.
  uint64_t calls() const {
    return calls_.load();
  }

  /// Returns the thread that called `init`, or a default id when not initialized.
  std::thread::id owner() const {
    return owner_;
  }

private:
  void check(const char* function);

  settings cfg_;
  std::mt19937_64 rng_;
  std::thread::id owner_;
  bool initialized_ = false;
  std::atomic<uint64_t> calls_{0};
  std::mutex mtx_;
  std::condition_variable cv_;
  bool interrupted_ = false;
};

} // namespace troupe::mylib
