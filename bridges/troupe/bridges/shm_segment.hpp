#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <sys/types.h>

#include "caf/expected.hpp"

namespace troupe::bridges {

/// The first 64 bytes of every Troupe shared-memory segment: identifies the layout so that an
/// attach to a foreign, older or half-built segment fails with a clear error instead of reading
/// garbage.
/// @note Shared between processes. The creator writes every field, then stores `ready` (release);
///       an attacher reads `ready` (acquire) before anything else. `attacher_pid` is written once
///       by the process that attaches (zero when none).
struct alignas(64) shm_segment_header {
  /// `shm_segment_header::magic_value` ("TRPSHM\0\1").
  uint64_t magic;
  /// `shm_segment_header::layout_version`; bumped whenever any shared layout changes.
  uint32_t version;
  /// What follows the header (one of the `kind_*` constants).
  uint32_t kind;
  /// Size of the whole segment in bytes.
  uint64_t total_size;
  /// Data bytes per ring (0 for segments without rings).
  uint64_t ring_capacity;
  /// Process that created the segment.
  int32_t creator_pid;
  /// Process that attached to it (pair segments), 0 otherwise.
  std::atomic<int32_t> attacher_pid;
  /// 1 once the creator finished initializing the segment.
  std::atomic<uint32_t> ready;

  static constexpr uint64_t magic_value = 0x0100'4D48'5350'5254ull; // "TRPSHM" 0x00 0x01
  static constexpr uint32_t layout_version = 1;
  static constexpr uint32_t kind_door = 1;
  static constexpr uint32_t kind_listen = 2;
  static constexpr uint32_t kind_pair = 3;
};

static_assert(sizeof(shm_segment_header) == 64, "segment header layout changed");
static_assert(offsetof(shm_segment_header, version) == 8
                && offsetof(shm_segment_header, total_size) == 16
                && offsetof(shm_segment_header, creator_pid) == 32
                && offsetof(shm_segment_header, ready) == 40,
              "segment header layout changed: bump layout_version");

/// An owned mapping of a POSIX shared-memory object (`shm_open` + `ftruncate` + `mmap`), `0600`.
/// Unmaps on destruction; the creator also unlinks the name unless `keep()` was called.
/// @note Not thread-safe itself; the mapped memory is what other threads and processes share.
class shm_segment {
public:
  shm_segment() = default;
  shm_segment(shm_segment&& other) noexcept;
  shm_segment& operator=(shm_segment&& other) noexcept;
  shm_segment(const shm_segment&) = delete;
  shm_segment& operator=(const shm_segment&) = delete;
  ~shm_segment();

  /// Creates the segment `name` ("/..." or without slash) of `size` zeroed bytes; fails if it
  /// exists.
  static caf::expected<shm_segment> create(const std::string& name, size_t size);

  /// Maps the existing segment `name` with its current size. Refuses (before mapping) a segment
  /// that belongs to another user or whose mode grants group or other users any access.
  static caf::expected<shm_segment> open(const std::string& name);

  /// Maps `name` and checks its `shm_segment_header` (magic, version, kind, size, ready).
  static caf::expected<shm_segment> attach(const std::string& name, uint32_t kind);

  /// Fills the header of a segment created by this process and marks it ready.
  void init_header(uint32_t kind, uint64_t ring_capacity);

  /// Returns the mapped bytes.
  void* data() const noexcept {
    return addr_;
  }

  /// Returns the mapped header.
  shm_segment_header* header() const noexcept {
    return static_cast<shm_segment_header*>(addr_);
  }

  /// Returns the size of the mapping.
  size_t size() const noexcept {
    return size_;
  }

  /// Returns the name, with its leading slash.
  const std::string& name() const noexcept {
    return name_;
  }

  /// Returns whether `/dev/shm/<name>` still names the object this mapping was made from (it
  /// was not unlinked, nor replaced by another file of the same name).
  bool name_still_ours() const;

  /// Removes the name now (the mappings stay valid); idempotent.
  void unlink();

  /// Keeps the name on destruction even for the creator.
  void keep() noexcept {
    owner_ = false;
  }

  /// Returns whether the segment is mapped.
  explicit operator bool() const noexcept {
    return addr_ != nullptr;
  }

private:
  void reset() noexcept;

  std::string name_;
  void* addr_ = nullptr;
  size_t size_ = 0;
  bool owner_ = false;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

/// Explains why the segment `name` cannot be created: whose it is (another user's, a foreign
/// file, or a live Troupe process's) and what to do about it.
std::string describe_existing_segment(const std::string& name);

/// Returns whether a process with id `pid` exists (`kill(pid, 0)`; EPERM counts as alive).
bool process_alive(pid_t pid);

/// Turns `x` into a component of a shm name: characters other than [A-Za-z0-9_-] become '_'.
std::string shm_name_part(const std::string& x);

/// Shortens `x` (already a name part) to at most `max` characters (`max` >= 24): a longer name
/// keeps its first `max - 17` characters and gets '-' and a 16-digit hash of the whole appended,
/// so that distinct long names stay distinct. Segment names are limited (NAME_MAX, and the 128
/// bytes a door name may take in a shared header) although app and node names of 64 characters
/// each are valid.
std::string shm_short_name(const std::string& x, size_t max);

/// Removes every segment in /dev/shm whose name starts with `prefix` (without slash), carries a
/// valid Troupe header and whose creator and attacher processes are all dead. Returns how many
/// were removed. Foreign files and segments of live processes are left alone.
caf::expected<size_t> remove_stale_segments(const std::string& prefix);

/// Returns the names (without slash) of the entries in /dev/shm starting with `prefix`.
caf::expected<std::vector<std::string>> list_segments(const std::string& prefix);

} // namespace troupe::bridges
