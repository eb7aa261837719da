#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "troupe/bridges/shm_ring.hpp"
#include "troupe/bridges/shm_segment.hpp"

/// The shared layouts of the shm transport (see shm_transport.hpp), in a header of their own so
/// that the hostile-peer tests can build segments by hand.
namespace troupe::detail {

// -- version 1 of shm_segment_header::layout_version -----------------------------------------

inline constexpr size_t name_len = 128;

/// The doorbell segment of one transport.
/// @note Shared between processes: any peer rings `door`; connectors bump `connects`.
struct door_layout {
  bridges::shm_segment_header seg;
  bridges::shm_waiter door;
  alignas(64) std::atomic<uint32_t> connects;
};

/// A listen segment: tells connectors where the listener's door is.
/// @note Shared between processes; written once by the listener before `seg.ready`.
struct listen_layout {
  bridges::shm_segment_header seg;
  char door[name_len];
};

/// One side of a connection.
/// @note Shared between processes: written by its own side, read by the other.
struct alignas(64) side_layout {
  std::atomic<int32_t> pid;
  /// 0: not attached, 1: attached, 2: closed cleanly.
  std::atomic<uint32_t> state;
  /// CLOCK_MONOTONIC milliseconds (system-wide, so comparable across processes).
  std::atomic<uint64_t> heartbeat_ms;
  char door[name_len];
};

/// A connection segment; two rings follow (side 0 -> side 1, then side 1 -> side 0).
/// @note Shared between the two processes of a node pair.
struct pair_layout {
  bridges::shm_segment_header seg;
  side_layout side[2];
};

static_assert(sizeof(door_layout) == 192 && offsetof(door_layout, door) == 64,
              "door layout changed: bump layout_version");
static_assert(sizeof(side_layout) == 192 && sizeof(pair_layout) == 448,
              "pair layout changed: bump layout_version");
static_assert(sizeof(listen_layout) == 192, "listen layout changed: bump layout_version");

inline constexpr uint32_t side_none = 0;
inline constexpr uint32_t side_attached = 1;
inline constexpr uint32_t side_closed = 2;

inline void copy_name(char (&dst)[name_len], const std::string& src) {
  std::memset(dst, 0, name_len);
  std::memcpy(dst, src.data(), std::min(src.size(), name_len - 1));
}

inline std::string read_name(const char (&src)[name_len]) {
  return std::string{src, strnlen(src, name_len)};
}

inline bridges::shm_ring_header* ring_at(pair_layout* p, uint64_t capacity, int index) {
  auto* base = reinterpret_cast<char*>(p) + sizeof(pair_layout);
  return reinterpret_cast<bridges::shm_ring_header*>(
    base + index * bridges::shm_ring_header::bytes(capacity));
}

} // namespace troupe::detail
