#define CAF_SUITE bridges.shm_ring

#include "troupe/bridges/shm_ring.hpp"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "caf/test/unit_test.hpp"

using namespace std::chrono_literals;
using namespace troupe;
using namespace troupe::bridges;

namespace {

struct free_deleter {
  void operator()(void* p) const {
    std::free(p);
  }
};

// Deterministic content: byte `i` of message `seq` (so the consumer can check without a copy).
uint8_t content(uint64_t seq, size_t i) {
  auto x = seq * 0x9E3779B97F4A7C15ull + i * 0xBF58476D1CE4E5B9ull;
  x ^= x >> 29;
  return static_cast<uint8_t>(x);
}

std::vector<char> make_message(uint64_t seq, size_t size) {
  std::vector<char> msg(std::max(size, sizeof(uint64_t)));
  std::memcpy(msg.data(), &seq, sizeof(seq));
  for (size_t i = sizeof(seq); i < msg.size(); ++i)
    msg[i] = static_cast<char>(content(seq, i));
  return msg;
}

// Returns the sequence number of a message made by `make_message`, or -1 if its bytes are wrong.
int64_t check_message(const char* data, size_t size) {
  if (size < sizeof(uint64_t))
    return -1;
  uint64_t seq;
  std::memcpy(&seq, data, sizeof(seq));
  for (size_t i = sizeof(seq); i < size; ++i)
    if (static_cast<uint8_t>(data[i]) != content(seq, i))
      return -1;
  return static_cast<int64_t>(seq);
}

auto never = [] { return false; };

struct fixture {
  std::unique_ptr<void, free_deleter> mem;
  shm_ring_block* blk = nullptr;

  void make(size_t capacity) {
    mem.reset(std::aligned_alloc(64, shm_ring_block::bytes(capacity)));
    blk = shm_ring_block::init(mem.get(), capacity);
  }

  shm_ring_producer producer() {
    return {&blk->ring, &blk->reader_door, &blk->writer_door};
  }

  shm_ring_consumer consumer(size_t max_message = size_t{16} << 20) {
    return {&blk->ring, &blk->reader_door, &blk->writer_door, max_message};
  }
};

// Runs `count` messages of random sizes in [0, max_size] through a ring of `capacity` bytes with
// one producer and one consumer thread; checks order, content and count.
void stream(fixture& fx, size_t capacity, uint64_t count, size_t max_size, uint32_t seed) {
  fx.make(capacity);
  std::atomic<bool> producer_failed{false};
  std::thread writer{[&] {
    auto sut = fx.producer();
    std::minstd_rand rng{seed};
    std::uniform_int_distribution<size_t> small{0, 200};
    std::uniform_int_distribution<size_t> any{0, max_size};
    for (uint64_t seq = 0; seq < count; ++seq) {
      // Mostly small records, a few large (fragmented) ones, so both paths and wrap-around mix.
      auto size = rng() % 16 == 0 ? any(rng) : small(rng);
      auto msg = make_message(seq, size);
      if (sut.push(msg.data(), msg.size(), 10s, never) != shm_wait_result::ok) {
        producer_failed = true;
        return;
      }
    }
  }};
  auto sut = fx.consumer();
  uint64_t expected = 0;
  uint64_t bad = 0;
  while (expected < count && !producer_failed) {
    if (sut.wait(10s, [&] { return producer_failed.load(); }) != shm_wait_result::ok)
      break;
    sut.poll([&](const char* data, size_t size) {
      if (check_message(data, size) != static_cast<int64_t>(expected))
        ++bad;
      ++expected;
    });
  }
  writer.join();
  CAF_CHECK(!producer_failed);
  CAF_CHECK_EQUAL(expected, count);
  CAF_CHECK_EQUAL(bad, 0u);
  CAF_CHECK(!sut.corrupt());
  CAF_CHECK_EQUAL(sut.dropped(), 0u);
  // Nothing duplicated: the ring is empty and the indices meet.
  CAF_CHECK(!sut.readable());
  CAF_CHECK_EQUAL(fx.blk->ring.head.load(), fx.blk->ring.tail.load());
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(shm_ring_tests, fixture)

CAF_TEST(layout is pinned) {
  CAF_CHECK_EQUAL(sizeof(shm_ring_header), 192u);
  CAF_CHECK_EQUAL(offsetof(shm_ring_header, head), 0u);
  CAF_CHECK_EQUAL(offsetof(shm_ring_header, tail), 64u);
  CAF_CHECK_EQUAL(offsetof(shm_ring_header, capacity), 128u);
  CAF_CHECK(shm_ring_header::valid_capacity(65536));
  CAF_CHECK(!shm_ring_header::valid_capacity(65535));
  CAF_CHECK(!shm_ring_header::valid_capacity(512));
}

CAF_TEST(two threads with random sizes and wrap - around) {
  // 4 KiB ring: records up to 1016 bytes, so messages up to 9000 bytes arrive in fragments and
  // the ring wraps thousands of times.
  stream(*this, 4096, 20000, 9000, 42);
}

CAF_TEST(two threads through a larger ring) {
  stream(*this, 65536, 20000, 70000, 7);
}

CAF_TEST(a 1 MiB message streams through a 64 KiB ring) {
  make(64 * 1024);
  auto msg = make_message(77, 1024 * 1024);
  std::atomic<int> result{-1};
  std::thread writer{[&] {
    auto sut = producer();
    result = static_cast<int>(sut.push(msg.data(), msg.size(), 10s, never));
  }};
  auto sut = consumer();
  std::vector<char> got;
  while (got.empty()) {
    if (sut.wait(10s, never) != shm_wait_result::ok)
      break;
    sut.poll([&](const char* data, size_t size) { got.assign(data, data + size); });
  }
  writer.join();
  CAF_CHECK_EQUAL(result.load(), static_cast<int>(shm_wait_result::ok));
  CAF_CHECK_EQUAL(got.size(), msg.size());
  CAF_CHECK(got == msg);
}

CAF_TEST(a full ring applies back - pressure) {
  make(4096);
  auto tx = producer();
  auto rx = consumer();
  auto msg = make_message(1, 100); // 8 + 104 bytes per record
  size_t pushed = 0;
  while (tx.try_push(msg.data(), msg.size()))
    ++pushed;
  CAF_CHECK_EQUAL(pushed, 4096u / 112u);
  // Oversized single records are refused by try_push (they must be streamed) ...
  std::vector<char> big(tx.max_chunk() + 1);
  CAF_CHECK(!tx.try_push(big.data(), big.size()));
  // ... and a bounded blocking push gives up at its deadline.
  auto t0 = std::chrono::steady_clock::now();
  CAF_CHECK(tx.push(msg.data(), msg.size(), 20ms, never) == shm_wait_result::timed_out);
  CAF_CHECK_GREATER_OR_EQUAL(std::chrono::steady_clock::now() - t0, 20ms);
  // An abort predicate (peer died) ends the wait at once.
  CAF_CHECK_EQUAL(tx.push(msg.data(), msg.size(), 10s, [] { return true; }),
                  shm_wait_result::aborted);
  // Consuming one record makes room for exactly one more.
  CAF_CHECK_EQUAL(rx.poll([](const char*, size_t) {}, 1), 1u);
  CAF_CHECK(tx.try_push(msg.data(), msg.size()));
  CAF_CHECK(!tx.try_push(msg.data(), msg.size()));
  size_t got = 0;
  while (rx.poll([&](const char* data, size_t size) { got += check_message(data, size) == 1; }))
    ;
  CAF_CHECK_EQUAL(got, pushed);
}

CAF_TEST(a sleeping reader is woken by the writer and an awake one costs no syscall) {
  make(4096);
  auto tx = producer();
  auto msg = make_message(5, 32);
  // Reader awake (not announced as sleeping): no FUTEX_WAKE.
  CAF_CHECK(tx.try_push(msg.data(), msg.size()));
  CAF_CHECK_EQUAL(tx.wakes(), 0u);
  auto rx = consumer();
  CAF_CHECK_EQUAL(rx.poll([](const char*, size_t) {}), 1u);
  // Reader with no spin budget goes to sleep on the futex at once.
  std::atomic<int> woke{-1};
  std::thread reader{[&] {
    woke = static_cast<int>(rx.wait(10s, never, shm_wait_options{0ns, 10s}));
  }};
  // Wait (bounded) until the reader announced its sleep; the flag is the synchronization.
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (blk->reader_door.sleeping.load() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  CAF_CHECK_EQUAL(blk->reader_door.sleeping.load(), 1u);
  auto t0 = std::chrono::steady_clock::now();
  CAF_CHECK(tx.try_push(msg.data(), msg.size()));
  reader.join();
  CAF_CHECK_EQUAL(woke.load(), static_cast<int>(shm_wait_result::ok));
  CAF_CHECK_LESS(std::chrono::steady_clock::now() - t0, 5s);
  CAF_CHECK_EQUAL(tx.wakes(), 1u);
  CAF_CHECK_EQUAL(blk->reader_door.sleeping.load(), 0u);
}

CAF_TEST(a writer blocked on a full ring is woken by the reader) {
  make(4096);
  auto tx = producer();
  auto msg = make_message(9, 100);
  while (tx.try_push(msg.data(), msg.size()))
    ;
  std::atomic<int> result{-1};
  std::thread writer{[&] {
    result = static_cast<int>(tx.push(msg.data(), msg.size(), 10s, never, {0ns, 10s}));
  }};
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (blk->writer_door.sleeping.load() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  CAF_CHECK_EQUAL(blk->writer_door.sleeping.load(), 1u);
  auto rx = consumer();
  CAF_CHECK_EQUAL(rx.poll([](const char*, size_t) {}, 1), 1u);
  writer.join();
  CAF_CHECK_EQUAL(result.load(), static_cast<int>(shm_wait_result::ok));
}

CAF_TEST(a wait times out when nothing arrives) {
  make(4096);
  auto rx = consumer();
  auto t0 = std::chrono::steady_clock::now();
  CAF_CHECK(rx.wait(20ms, never) == shm_wait_result::timed_out);
  CAF_CHECK_GREATER_OR_EQUAL(std::chrono::steady_clock::now() - t0, 20ms);
  CAF_CHECK(rx.wait(10s, [] { return true; }, {0ns, 1ms}) == shm_wait_result::aborted);
}

CAF_TEST(oversized messages and corrupt records are rejected) {
  make(4096);
  auto tx = producer();
  auto rx = consumer(2000);
  auto big = make_message(3, 2500);
  size_t off = 0;
  CAF_CHECK(tx.push_some(big.data(), big.size(), off));
  auto small = make_message(4, 10);
  CAF_CHECK(tx.try_push(small.data(), small.size()));
  std::vector<int64_t> got;
  while (rx.poll([&](const char* d, size_t n) { got.push_back(check_message(d, n)); }))
    ;
  CAF_REQUIRE_EQUAL(got.size(), 1u);
  CAF_CHECK_EQUAL(got[0], 4);
  CAF_CHECK_EQUAL(rx.dropped(), 1u);
  // A record claiming more bytes than were written stops the consumer instead of reading junk.
  shm_record junk{100000, shm_record::first | shm_record::last};
  auto pos = blk->ring.head.load() & 4095;
  std::memcpy(blk->ring.data() + pos, &junk, sizeof(junk));
  blk->ring.head.fetch_add(16);
  rx.poll([](const char*, size_t) {});
  CAF_CHECK(rx.corrupt());
}

CAF_TEST(ping - pong round trip spinning versus futex) {
  // Two rings, one per direction; the echo thread bounces every message back. Short runs: this
  // machine has 2 vCPUs and is shared.
  fixture back;
  make(65536);
  back.make(65536);
  auto measure = [&](shm_wait_options opts, int rounds) {
    std::atomic<bool> stop{false};
    std::thread echo{[&] {
      auto rx = consumer();
      auto tx = back.producer();
      for (int i = 0; i < rounds; ++i) {
        if (rx.wait(
              5s, [&] { return stop.load(); }, opts)
            != shm_wait_result::ok)
          return;
        rx.poll([&](const char* d, size_t n) { static_cast<void>(tx.try_push(d, n)); }, 1);
      }
    }};
    auto tx = producer();
    auto rx = back.consumer();
    std::vector<double> rtt;
    rtt.reserve(rounds);
    char msg[32] = {};
    for (int i = 0; i < rounds; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      if (!tx.try_push(msg, sizeof(msg)) || rx.wait(5s, never, opts) != shm_wait_result::ok)
        break;
      rx.poll([](const char*, size_t) {}, 1);
      rtt.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    stop = true;
    echo.join();
    if (rtt.empty())
      return std::string{"failed"};
    auto mean = std::accumulate(rtt.begin(), rtt.end(), 0.0) / static_cast<double>(rtt.size());
    std::sort(rtt.begin(), rtt.end());
    return "p50 " + std::to_string(rtt[rtt.size() / 2]) + " us, p90 "
           + std::to_string(rtt[rtt.size() * 9 / 10]) + " us, mean " + std::to_string(mean)
           + " us over " + std::to_string(rtt.size());
  };
  auto spin = measure({5us, 20ms}, 20000);
  auto futex = measure({0ns, 20ms}, 2000);
  CAF_MESSAGE("ring round trip, hybrid (5 us spin): " << spin);
  CAF_MESSAGE("ring round trip, futex only: " << futex);
  CAF_CHECK_NOT_EQUAL(spin, "failed");
  CAF_CHECK_NOT_EQUAL(futex, "failed");
}

CAF_TEST_FIXTURE_SCOPE_END()
