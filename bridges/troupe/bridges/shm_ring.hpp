#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

#include "troupe/bridges/detail/futex.hpp"

namespace troupe::bridges {

// -- shared layout ------------------------------------------------------------------------------

/// A doorbell in shared memory: a 32-bit futex word plus a flag by which its single sleeper
/// announces that it is (about to be) asleep. Notifiers only make the FUTEX_WAKE syscall when that
/// flag is set, so an awake reader costs its writers no syscall at all.
/// @note Shared between threads and processes (it lives in a POSIX shm segment). One sleeper,
///       any number of notifiers. Only lock-free, address-free atomics.
struct alignas(64) shm_waiter {
  /// Futex word, bumped by every notification that finds the sleeper asleep.
  std::atomic<uint32_t> seq{0};
  /// 1 while the sleeper is in (or about to enter) FUTEX_WAIT.
  std::atomic<uint32_t> sleeping{0};
};

static_assert(sizeof(shm_waiter) == 64, "shm_waiter layout changed: bump the segment version");
static_assert(offsetof(shm_waiter, seq) == 0 && offsetof(shm_waiter, sleeping) == 4,
              "shm_waiter layout changed: bump the segment version");

/// Sleeps on `w` for at most `timeout` unless `ready()` holds after announcing the sleep.
/// The announce/re-check/sleep order pairs with `shm_notify` (a Dekker handshake through two
/// seq_cst fences): either the sleeper sees the notifier's data or the notifier sees the flag.
template <class Ready>
detail::futex_result shm_wait(shm_waiter& w, Ready&& ready, std::chrono::nanoseconds timeout) {
  w.sleeping.store(1, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  auto s = w.seq.load(std::memory_order_relaxed);
  // If `s` already counts a notifier's bump, this pairs with the fence the notifier issued
  // before it (release): `ready()` then sees that notifier's data, and sleeping on `s` is safe.
  std::atomic_thread_fence(std::memory_order_acquire);
  if (ready()) {
    w.sleeping.store(0, std::memory_order_relaxed);
    return detail::futex_result::changed;
  }
  auto res = detail::futex_wait(&w.seq, s, timeout);
  w.sleeping.store(0, std::memory_order_relaxed);
  return res;
}

/// Wakes the sleeper of `w` if it announced a sleep; returns whether a syscall was made.
/// Call it after publishing the data the sleeper waits for.
inline bool shm_notify(shm_waiter& w) {
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (w.sleeping.load(std::memory_order_relaxed) == 0)
    return false;
  // Only one of several racing notifiers pays for the syscall.
  if (w.sleeping.exchange(0, std::memory_order_relaxed) == 0)
    return false;
  w.seq.fetch_add(1, std::memory_order_relaxed);
  detail::futex_wake(&w.seq);
  return true;
}

/// The indices of one single-producer/single-consumer byte ring; `capacity` data bytes follow the
/// header directly. Head and tail are monotonically increasing byte counts (never wrapped, so
/// `head - tail` is the fill level), each on its own cache line so that the two sides never
/// write the same line.
///
/// Records are 8-byte aligned: an 8-byte `shm_record` header, then the payload, padded to 8.
/// A record never wraps: when it does not fit before the end of the data area, the writer fills
/// the rest with a padding record (only a header; `size` says how far to skip) and starts at
/// offset 0. Payloads are at most `capacity / 4 - 8` bytes, which guarantees that a record plus
/// the worst padding always fits an empty ring; longer messages are split into fragments
/// (`first` / `last` flags) that the consumer reassembles.
/// @note Shared between two processes: the producer only stores `head` and `want_space`, the
///       consumer only stores `tail` and clears `want_space`.
struct shm_ring_header {
  /// Bytes ever written (published with release ordering).
  alignas(64) std::atomic<uint64_t> head{0};
  /// Bytes ever consumed (published with release ordering).
  alignas(64) std::atomic<uint64_t> tail{0};
  /// Data bytes after this header; a power of two.
  alignas(64) uint64_t capacity = 0;
  /// Set by a producer that found the ring full and wants its doorbell rung on consumption.
  std::atomic<uint32_t> want_space{0};
  uint32_t reserved = 0;

  /// Returns the first data byte.
  char* data() noexcept {
    return reinterpret_cast<char*>(this + 1);
  }

  /// Returns the bytes a ring of `capacity` data bytes occupies, header included.
  static constexpr size_t bytes(size_t capacity) noexcept {
    return sizeof(shm_ring_header) + capacity;
  }

  /// Returns whether `capacity` is usable (a power of two, at least 1 KiB, at most 1 GiB).
  static constexpr bool valid_capacity(uint64_t capacity) noexcept {
    return capacity >= 1024 && capacity <= (uint64_t{1} << 30) && (capacity & (capacity - 1)) == 0;
  }

  /// Constructs an empty ring in `mem` (at least `bytes(capacity)` bytes, 64-byte aligned).
  static shm_ring_header* init(void* mem, size_t capacity) noexcept {
    auto* r = new (mem) shm_ring_header;
    r->capacity = capacity;
    return r;
  }
};

static_assert(sizeof(shm_ring_header) == 192, "ring layout changed: bump the segment version");
static_assert(alignof(shm_ring_header) == 64, "ring layout changed: bump the segment version");

/// The header of one record in a ring.
/// @note Written by the producer process, read by the consumer process.
struct shm_record {
  /// Payload bytes (for a padding record: bytes to skip after the header).
  uint32_t size;
  /// Bit set of `shm_record::first`, `last`, `pad`.
  uint32_t flags;

  static constexpr uint32_t first = 1;
  static constexpr uint32_t last = 2;
  static constexpr uint32_t pad = 4;
};

static_assert(sizeof(shm_record) == 8, "record layout changed: bump the segment version");

/// A ring with its own two doorbells in one block: what the unit tests and the raw-ring benchmark
/// use. (The shm transport keeps the doorbells per process instead; see shm_transport.hpp.)
/// @note Shared between threads or processes, like its members.
struct shm_ring_block {
  /// Rung by the producer when the consumer sleeps.
  shm_waiter reader_door;
  /// Rung by the consumer when the producer waits for space.
  shm_waiter writer_door;
  /// The ring, followed by its data bytes.
  shm_ring_header ring;

  /// Returns the bytes a block with `capacity` data bytes needs.
  static constexpr size_t bytes(size_t capacity) noexcept {
    return sizeof(shm_ring_block) + capacity;
  }

  /// Constructs the block in `mem` (64-byte aligned, at least `bytes(capacity)` bytes).
  static shm_ring_block* init(void* mem, size_t capacity) noexcept {
    auto* b = new (mem) shm_ring_block;
    shm_ring_header::init(&b->ring, capacity);
    return b;
  }
};

static_assert(offsetof(shm_ring_block, ring) == 128 && sizeof(shm_ring_block) == 320,
              "ring block layout changed");

/// Outcome of a blocking ring operation.
enum class shm_wait_result {
  /// The operation completed (or data is readable).
  ok,
  /// The deadline passed first.
  timed_out,
  /// The abort predicate returned true (e.g. the peer process died).
  aborted,
};

/// Knobs of the hybrid waiting.
struct shm_wait_options {
  /// How long to spin before sleeping on the futex. A few µs covers a peer that answers at once;
  /// the notes in shared/notes/transports.md measured 5 µs as the sweet spot on this machine.
  std::chrono::nanoseconds spin{std::chrono::microseconds{5}};
  /// Longest single futex sleep, so that the abort predicate is polled even when nobody rings.
  std::chrono::nanoseconds slice{std::chrono::milliseconds{20}};
};

// -- producer -----------------------------------------------------------------------------------

/// The writing end of a ring. Batches records: nothing is visible to the consumer before
/// `publish()` (called by `try_push`, `push_some` and `push`).
/// @note Not thread-safe: exactly one thread (at a time) may use a producer; see the transport
///       for how concurrent senders are serialized.
class shm_ring_producer {
public:
  shm_ring_producer() = default;

  /// Attaches to `ring`; rings `reader_door` after publishing and waits on `writer_door`.
  shm_ring_producer(shm_ring_header* ring, shm_waiter* reader_door, shm_waiter* writer_door)
    : shm_ring_producer(ring, reader_door, writer_door, ring->capacity) {
    // nop
  }

  /// Attaches to `ring` with a `capacity` the caller validated itself: with a peer process the
  /// ring's own `capacity` field is shared memory that the peer could overwrite at any time, so
  /// the transport passes the capacity it checked against its segment header instead.
  shm_ring_producer(shm_ring_header* ring, shm_waiter* reader_door, shm_waiter* writer_door,
                    uint64_t capacity)
    : ring_(ring), reader_door_(reader_door), writer_door_(writer_door), data_(ring->data()),
      cap_(capacity), head_(ring->head.load()), tail_cache_(ring->tail.load()) {
    // nop
  }

  /// Returns the largest payload of one record; longer messages become several fragments.
  size_t max_chunk() const noexcept {
    return cap_ / 4 - sizeof(shm_record);
  }

  /// Writes `data` as one record if it fits; never blocks. Fails (back-pressure) when the ring
  /// lacks room and for `n > max_chunk()` (stream those with `push_some` or `push`).
  [[nodiscard]] bool try_push(const void* data, size_t n) {
    if (n > max_chunk() || !write(data, n, shm_record::first | shm_record::last))
      return false;
    publish();
    return true;
  }

  /// Streams the message `data[0, n)` from `offset` on, writing as many fragments as fit and
  /// advancing `offset`. Returns true once the whole message is in the ring. Never blocks.
  [[nodiscard]] bool push_some(const void* data, size_t n, size_t& offset) {
    auto* p = static_cast<const char*>(data);
    bool wrote = false;
    bool done = false;
    for (;;) {
      auto chunk = std::min(n - offset, max_chunk());
      uint32_t flags
        = (offset == 0 ? shm_record::first : 0) | (offset + chunk == n ? shm_record::last : 0);
      if (!write(p + offset, chunk, flags))
        break;
      wrote = true;
      offset += chunk;
      if (offset == n) {
        done = true;
        break;
      }
    }
    if (wrote)
      publish();
    return done;
  }

  /// Streams `data[0, n)` into the ring, waiting (spin, then futex) while it is full, for at most
  /// `timeout`; gives up when `abort()` returns true (checked at least every `opts.slice`).
  /// After `timed_out` or `aborted` a prefix of the message may be in the ring: the connection
  /// is then unusable for further messages (callers close it).
  template <class Abort>
  shm_wait_result push(const void* data, size_t n, std::chrono::nanoseconds timeout, Abort&& abort,
                       shm_wait_options opts = {}) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    size_t offset = 0;
    while (!push_some(data, n, offset)) {
      auto res = wait_for_space(deadline, abort, opts);
      if (res != shm_wait_result::ok)
        return res;
    }
    return shm_wait_result::ok;
  }

  /// Waits until the consumer freed some space since the last failed write.
  template <class Abort>
  shm_wait_result wait_for_space(std::chrono::steady_clock::time_point deadline, Abort&& abort,
                                 shm_wait_options opts = {}) {
    auto seen = tail_cache_;
    auto progressed = [&] { return ring_->tail.load(std::memory_order_acquire) != seen; };
    if (detail::spin_until(progressed, opts.spin))
      return shm_wait_result::ok;
    for (;;) {
      if (request_space())
        return shm_wait_result::ok;
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline)
        return progressed() ? shm_wait_result::ok : shm_wait_result::timed_out;
      shm_wait(*writer_door_, progressed,
               std::min<std::chrono::nanoseconds>(opts.slice, deadline - now));
      if (progressed())
        return shm_wait_result::ok;
      if (abort())
        return shm_wait_result::aborted;
    }
  }

  /// Asks the consumer to ring the writer door on its next consumption; returns whether space was
  /// freed meanwhile (then no ring will come and the caller retries at once).
  bool request_space() {
    ring_->want_space.store(1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    return space_freed();
  }

  /// Returns whether the consumer freed space since the last failed write.
  bool space_freed() const {
    return ring_->tail.load(std::memory_order_acquire) != tail_cache_;
  }

  /// Returns the number of FUTEX_WAKE syscalls made for the consumer.
  uint64_t wakes() const noexcept {
    return wakes_;
  }

  /// Returns whether the producer is attached to a ring.
  explicit operator bool() const noexcept {
    return ring_ != nullptr;
  }

private:
  // Writes one record (without publishing); false when it does not fit.
  bool write(const void* payload, size_t n, uint32_t flags) {
    auto total = sizeof(shm_record) + detail::align8(n);
    auto pos = head_ & (cap_ - 1);
    auto to_end = cap_ - pos;
    auto need = total > to_end ? to_end + total : total;
    if (head_ - tail_cache_ + need > cap_) {
      tail_cache_ = ring_->tail.load(std::memory_order_acquire);
      if (head_ - tail_cache_ + need > cap_)
        return false;
    }
    if (total > to_end) {
      shm_record skip{static_cast<uint32_t>(to_end - sizeof(shm_record)), shm_record::pad};
      std::memcpy(data_ + pos, &skip, sizeof(skip));
      head_ += to_end;
      pos = 0;
    }
    shm_record hdr{static_cast<uint32_t>(n), flags};
    std::memcpy(data_ + pos, &hdr, sizeof(hdr));
    if (n > 0)
      std::memcpy(data_ + pos + sizeof(hdr), payload, n);
    head_ += total;
    return true;
  }

  void publish() {
    ring_->head.store(head_, std::memory_order_release);
    if (shm_notify(*reader_door_))
      ++wakes_;
  }

  shm_ring_header* ring_ = nullptr;
  shm_waiter* reader_door_ = nullptr;
  shm_waiter* writer_door_ = nullptr;
  char* data_ = nullptr;
  uint64_t cap_ = 0;
  uint64_t head_ = 0;       // local, ahead of ring_->head until publish()
  uint64_t tail_cache_ = 0; // last seen consumer index: avoids touching its cache line
  uint64_t wakes_ = 0;
};

// -- consumer -----------------------------------------------------------------------------------

/// The reading end of a ring; reassembles fragmented messages.
/// @note Not thread-safe: exactly one thread (at a time) may use a consumer.
class shm_ring_consumer {
public:
  shm_ring_consumer() = default;

  /// Attaches to `ring`; rings `writer_door` when a waiting producer gets space, waits on
  /// `reader_door`. Messages longer than `max_message` are consumed and dropped (counted).
  /// `capacity` (0: the ring's own field) is the data size the caller validated; see the
  /// producer for why a transport passes it.
  shm_ring_consumer(shm_ring_header* ring, shm_waiter* reader_door, shm_waiter* writer_door,
                    size_t max_message = size_t{16} << 20, uint64_t capacity = 0)
    : ring_(ring), reader_door_(reader_door), writer_door_(writer_door), data_(ring->data()),
      cap_(capacity != 0 ? capacity : ring->capacity), max_message_(max_message),
      tail_(ring->tail.load()), head_cache_(ring->head.load()) {
    // nop
  }

  /// Returns whether a record is waiting (reads the producer's index only when the cached copy
  /// says empty).
  bool readable() {
    if (tail_ != head_cache_)
      return true;
    head_cache_ = ring_->head.load(std::memory_order_acquire);
    return tail_ != head_cache_;
  }

  /// Consumes up to `max_records` records and calls `f(const char* data, size_t size)` for each
  /// complete message; `data` is valid only during the call. Returns the records consumed.
  template <class F>
  size_t poll(F&& f, size_t max_records = 64) {
    size_t n = 0;
    while (n < max_records && !corrupt_ && readable()) {
      if (head_cache_ - tail_ > cap_) {
        corrupt_ = true;
        why_ = "the producer's head index is behind the tail or more than the capacity ahead";
        break;
      }
      auto pos = tail_ & (cap_ - 1);
      shm_record hdr;
      std::memcpy(&hdr, data_ + pos, sizeof(hdr));
      auto total = sizeof(shm_record) + detail::align8(hdr.size);
      // Never trust the other process: a record must lie inside the data area and the filled part.
      if (total > cap_ - pos || total > head_cache_ - tail_) {
        corrupt_ = true;
        why_ = "a record header claims more bytes than the ring or the written part holds";
        break;
      }
      if ((hdr.flags & shm_record::pad) == 0)
        consume(data_ + pos + sizeof(hdr), hdr.size, hdr.flags, f);
      tail_ += total;
      ring_->tail.store(tail_, std::memory_order_release);
      ++n;
    }
    if (n > 0) {
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (ring_->want_space.load(std::memory_order_relaxed) != 0
          && ring_->want_space.exchange(0, std::memory_order_relaxed) != 0)
        shm_notify(*writer_door_);
    }
    return n;
  }

  /// Waits until a record is readable: spins for `opts.spin`, then sleeps on the reader door in
  /// slices of `opts.slice`, polling `abort()` between slices, for at most `timeout`.
  template <class Abort>
  shm_wait_result wait(std::chrono::nanoseconds timeout, Abort&& abort,
                       shm_wait_options opts = {}) {
    auto ready = [this] { return readable(); };
    if (detail::spin_until(ready, std::min(opts.spin, timeout)))
      return shm_wait_result::ok;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline)
        return readable() ? shm_wait_result::ok : shm_wait_result::timed_out;
      shm_wait(*reader_door_, ready,
               std::min<std::chrono::nanoseconds>(opts.slice, deadline - now));
      if (readable())
        return shm_wait_result::ok;
      if (abort())
        return shm_wait_result::aborted;
    }
  }

  /// Returns whether the consumer saw a malformed record and stopped reading.
  bool corrupt() const noexcept {
    return corrupt_;
  }

  /// Returns what was malformed once `corrupt()` holds (a static string), else nullptr.
  const char* corrupt_reason() const noexcept {
    return why_;
  }

  /// Returns the number of messages dropped for exceeding `max_message` or for a broken
  /// fragment sequence.
  uint64_t dropped() const noexcept {
    return dropped_;
  }

  /// Returns whether the consumer is attached to a ring.
  explicit operator bool() const noexcept {
    return ring_ != nullptr;
  }

private:
  template <class F>
  void consume(const char* payload, size_t size, uint32_t flags, F& f) {
    bool first = (flags & shm_record::first) != 0;
    bool last = (flags & shm_record::last) != 0;
    if (first && assembling_) {
      // The previous message lost its tail (cannot happen with a correct producer).
      ++dropped_;
      assembling_ = false;
    }
    if (first && last) {
      // Common case: zero-copy delivery straight from the ring.
      if (size <= max_message_)
        f(payload, size);
      else
        ++dropped_;
      return;
    }
    if (first) {
      assembling_ = true;
      skipping_ = false;
      buf_.clear();
    } else if (!assembling_) {
      ++dropped_; // a fragment without a start
      return;
    }
    if (!skipping_) {
      if (buf_.size() + size > max_message_) {
        skipping_ = true;
        buf_.clear();
        buf_.shrink_to_fit();
      } else {
        buf_.insert(buf_.end(), payload, payload + size);
      }
    }
    if (last) {
      assembling_ = false;
      if (skipping_)
        ++dropped_;
      else
        f(static_cast<const char*>(buf_.data()), buf_.size());
      buf_.clear();
    }
  }

  shm_ring_header* ring_ = nullptr;
  shm_waiter* reader_door_ = nullptr;
  shm_waiter* writer_door_ = nullptr;
  char* data_ = nullptr;
  uint64_t cap_ = 0;
  size_t max_message_ = 0;
  uint64_t tail_ = 0;       // local copy of ring_->tail (we are its only writer)
  uint64_t head_cache_ = 0; // last seen producer index: avoids touching its cache line
  std::vector<char> buf_;   // reassembly of fragmented messages
  bool assembling_ = false;
  bool skipping_ = false;
  bool corrupt_ = false;
  const char* why_ = nullptr;
  uint64_t dropped_ = 0;
};

} // namespace troupe::bridges
