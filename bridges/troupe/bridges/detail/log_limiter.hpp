#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace troupe::detail {

/// Rate limit for log lines that a remote peer can trigger (rejected frames, hellos): at most
/// `per_window` lines per time window for the node and `per_key` for one key (a connection), so
/// that one hostile peer can neither flood the log nor use up the lines that would show another
/// peer's trouble. Lines over the limit are counted and reported once the next window opens.
/// @note Thread-safe (one mutex, held for a few map operations).
class log_limiter {
public:
  using clock = std::chrono::steady_clock;

  log_limiter(size_t per_window, size_t per_key, clock::duration window)
    : per_window_(per_window), per_key_(per_key), window_(window) {
    // nop
  }

  /// Returns whether a line for `key` may be logged now. `suppressed` receives the number of
  /// lines held back in the window that just ended (0 otherwise): log it first.
  bool allow(uint64_t key, uint64_t& suppressed, clock::time_point now = clock::now()) {
    std::lock_guard<std::mutex> guard{mtx_};
    suppressed = 0;
    if (now - window_start_ >= window_) {
      suppressed = suppressed_;
      suppressed_ = 0;
      logged_ = 0;
      per_key_count_.clear(); // also bounds the map by the keys seen in one window
      window_start_ = now;
    }
    auto& mine = per_key_count_[key];
    if (logged_ >= per_window_ || mine >= per_key_) {
      ++suppressed_;
      return false;
    }
    ++logged_;
    ++mine;
    return true;
  }

private:
  const size_t per_window_;
  const size_t per_key_;
  const clock::duration window_;
  std::mutex mtx_;
  clock::time_point window_start_{};
  size_t logged_ = 0;
  uint64_t suppressed_ = 0;
  std::unordered_map<uint64_t, size_t> per_key_count_;
};

} // namespace troupe::detail
