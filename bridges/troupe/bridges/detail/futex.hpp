#pragma once

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <ctime>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace troupe::detail {

static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t),
              "a futex word must be a plain 32-bit integer in memory");
static_assert(std::atomic<uint32_t>::is_always_lock_free
                && std::atomic<uint64_t>::is_always_lock_free,
              "atomics in shared memory must be lock-free (address-free)");

/// Result of a futex wait.
enum class futex_result {
  /// Woken by `futex_wake` (or spuriously).
  woken,
  /// The word did not hold the expected value any more (a wake raced with the sleep).
  changed,
  /// The timeout elapsed.
  timed_out,
};

/// Sleeps while `*word == expected`, at most `timeout`. Uses the shared (non-PRIVATE) futex
/// operations because the word may live in memory mapped by another process.
inline futex_result futex_wait(std::atomic<uint32_t>* word, uint32_t expected,
                               std::chrono::nanoseconds timeout) {
  if (timeout.count() <= 0)
    return futex_result::timed_out;
  timespec ts;
  ts.tv_sec = static_cast<time_t>(timeout.count() / 1000000000);
  ts.tv_nsec = static_cast<long>(timeout.count() % 1000000000);
  auto rc = ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT, expected, &ts,
                      nullptr, 0);
  if (rc == 0)
    return futex_result::woken;
  if (errno == ETIMEDOUT)
    return futex_result::timed_out;
  if (errno == EAGAIN)
    return futex_result::changed;
  return futex_result::woken; // EINTR: the caller re-checks its condition anyway.
}

/// Wakes every thread sleeping on `word` (in any process).
inline void futex_wake(std::atomic<uint32_t>* word) {
  ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

/// Tells the CPU that this is a spin-wait loop (frees the sibling hyper-thread, saves power).
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

constexpr size_t align8(size_t n) noexcept {
  return (n + 7) & ~size_t{7};
}

/// Spins until `ready()` or `budget` elapsed; reads the clock only every 64 iterations.
template <class Ready>
bool spin_until(Ready&& ready, std::chrono::nanoseconds budget) {
  if (budget.count() <= 0)
    return ready();
  auto end = std::chrono::steady_clock::now() + budget;
  for (unsigned i = 1;; ++i) {
    if (ready())
      return true;
    cpu_relax();
    if ((i & 63) == 0 && std::chrono::steady_clock::now() >= end)
      return ready();
  }
}

} // namespace troupe::detail
