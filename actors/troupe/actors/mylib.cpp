#include "troupe/actors/mylib.hpp"

#include <cstdio>
#include <cstdlib>

namespace troupe::mylib {

namespace {

void abort_on_violation(const char* function, const char* problem) {
  std::fprintf(stderr, "mylib: fatal: %s: %s\n", function, problem);
  std::abort();
}

std::atomic<violation_handler> handler{abort_on_violation};

} // namespace

violation_handler set_violation_handler(violation_handler fn) {
  return handler.exchange(fn ? fn : abort_on_violation);
}

library::library(settings cfg)
  : cfg_(cfg), rng_(cfg.seed != 0 ? cfg.seed : std::random_device{}()) {
  // nop
}

void library::check(const char* function) {
  if (!initialized_) {
    handler.load()(function, "called before init");
    return;
  }
  if (std::this_thread::get_id() != owner_) {
    handler.load()(function, "called from a thread other than the one that called init");
    return;
  }
  ++calls_;
}

void library::init() {
  if (initialized_) {
    check("init");
    return;
  }
  owner_ = std::this_thread::get_id();
  initialized_ = true;
  ++calls_;
}

void library::readConfig() {
  check("readConfig");
  std::uniform_int_distribution<int64_t> dist{cfg_.read_config_min.count(),
                                              cfg_.read_config_max.count()};
  auto delay = timespan{dist(rng_)};
  auto crashes = std::bernoulli_distribution{cfg_.crash_probability}(rng_);
  std::unique_lock<std::mutex> guard{mtx_};
  cv_.wait_for(guard, crashes ? delay / 2 : delay, [this] { return interrupted_; });
  if (crashes && !interrupted_)
    throw crash{};
}

int library::calc(int x) {
  check("calc");
  return x + 1;
}

void library::uninit() {
  check("uninit");
  initialized_ = false;
  owner_ = std::thread::id{};
}

void library::interrupt() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    interrupted_ = true;
  }
  cv_.notify_all();
}

} // namespace troupe::mylib
