#include "troupe/actors/single_flight.hpp"

#include <chrono>
#include <utility>

#include <spdlog/spdlog.h>

#include "caf/behavior.hpp"
#include "caf/detail/behavior_impl.hpp"
#include "caf/detail/invoke_result_visitor.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/message_view.hpp"
#include "caf/result.hpp"
#include "caf/sec.hpp"
#include "caf/system_messages.hpp"

#include "troupe/actors/atoms.hpp"
#include "troupe/errc.hpp"

namespace troupe::actors {

namespace {

using self_ptr = caf::stateful_actor<single_flight_state>*;

/// A response handler that accepts any answer. CAF 0.17's `then` needs the answer's types up
/// front, but a pool worker may answer anything, and single_flight passes it on unchanged. An
/// error answer (including `request_timeout`) arrives as a message holding one `caf::error`.
class any_response final : public caf::detail::behavior_impl {
public:
  explicit any_response(std::function<void(caf::message&)> f) : f_(std::move(f)) {
    // nop
  }

  caf::match_case::result invoke(caf::detail::invoke_result_visitor& v,
                                 caf::type_erased_tuple& xs) override {
    auto msg = caf::message::copy(xs);
    f_(msg);
    v();
    return caf::match_case::match;
  }

private:
  std::function<void(caf::message&)> f_;
};

caf::behavior on_any_response(std::function<void(caf::message&)> f) {
  return caf::behavior{caf::behavior::impl_ptr{caf::make_counted<any_response>(std::move(f))}};
}

int64_t unix_ms_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

/// Whether `err` says that the worker itself is gone (rather than that it answered an error).
bool is_worker_loss(const caf::error& err) {
  if (err.category() == caf::atom("system"))
    return err == caf::sec::request_receiver_down;
  if (err.category() == errc_category)
    return err.code() == static_cast<uint8_t>(errc::peer_lost);
  return err.category() == caf::atom("exit"); // an exit reason delivered as an answer
}

/// Whether `err` is a worker's "not me, try another one" (e.g. a flight_worker whose node stops).
bool is_retryable(const caf::error& err) {
  return err.category() == errc_category && err.code() == static_cast<uint8_t>(errc::unavailable);
}

void deliver_all(flight& f, const caf::message& answer) {
  for (auto& rp : f.waiters)
    rp.deliver(answer);
  f.waiters.clear();
}

void fail_all(flight& f, const caf::error& err) {
  for (auto& rp : f.waiters)
    rp.deliver(err);
  f.waiters.clear();
}

void end_flight(self_ptr self, const std::string& key) {
  auto& st = self->state;
  st.flights.erase(key);
  for (auto i = st.queued.begin(); i != st.queued.end(); ++i)
    if (*i == key) {
      st.queued.erase(i);
      break;
    }
}

/// Picks the least loaded worker other than `avoid` (unless it is the only one); among equals,
/// the next in round-robin order.
flight_worker_entry* pick_worker(self_ptr self, const caf::actor_addr& avoid) {
  auto& st = self->state;
  if (st.workers.empty())
    return nullptr;
  auto n = st.workers.size();
  auto start = st.rr++ % n;
  flight_worker_entry* best = nullptr;
  auto it = st.workers.begin();
  std::advance(it, static_cast<std::ptrdiff_t>(start));
  for (size_t i = 0; i < n; ++i, ++it) {
    if (it == st.workers.end())
      it = st.workers.begin();
    if (n > 1 && avoid && it->first == avoid)
      continue;
    if (best == nullptr || it->second.load < best->load)
      best = &it->second;
  }
  return best;
}

void on_answer(self_ptr self, const std::string& key, uint64_t attempt, caf::actor_addr worker,
               caf::message& answer);

void worker_lost(self_ptr self, const std::string& key, const caf::error& why);

/// Starts the current attempt of `key` on a worker (preferably not `avoid`), or queues the key
/// when the pool is empty.
void dispatch(self_ptr self, const std::string& key, const caf::actor_addr& avoid = {}) {
  auto& st = self->state;
  auto& f = st.flights.at(key);
  auto now = self->clock().now();
  if (now >= f.deadline)
    return; // the expiry message ends it
  auto* w = pick_worker(self, avoid);
  if (w == nullptr) {
    f.worker = caf::actor_addr{};
    f.worker_label.clear();
    st.queued.push_back(key);
    st.log->info("single_flight: key {} waits for a worker (the pool is empty)", key);
    return;
  }
  ++f.attempts;
  f.attempt_id = ++st.next_id;
  f.worker = w->handle.address();
  f.worker_label = w->label;
  ++w->load;
  ++st.started;
  auto remaining = std::chrono::duration_cast<timespan>(f.deadline - now);
  auto hdl = self->request(w->handle, remaining, f.request);
  self->add_multiplexed_response_handler(
    hdl.id(),
    on_any_response([self, key, attempt = f.attempt_id, addr = f.worker](caf::message& answer) {
      on_answer(self, key, attempt, addr, answer);
    }));
  st.log->debug("single_flight: key {} started on {} (attempt {})", key, w->label, f.attempts);
}

void on_answer(self_ptr self, const std::string& key, uint64_t attempt, caf::actor_addr worker,
               caf::message& answer) {
  auto& st = self->state;
  auto w = st.workers.find(worker);
  if (w != st.workers.end() && w->second.load > 0)
    --w->second.load;
  auto i = st.flights.find(key);
  if (i == st.flights.end() || i->second.attempt_id != attempt)
    return; // the key ended (timeout) or moved on to another attempt meanwhile
  auto& f = i->second;
  if (answer.match_elements<caf::error>()) {
    auto err = answer.get_as<caf::error>(0);
    if (is_worker_loss(err)) {
      if (w != st.workers.end()) {
        self->demonitor(w->second.handle);
        st.workers.erase(w);
      }
      worker_lost(self, key, err);
      return;
    }
    if (is_retryable(err) && f.attempts <= st.cfg.retries) {
      worker_lost(self, key, err); // the worker stays in the pool
      return;
    }
    if (err == caf::sec::request_timeout) {
      ++st.failed;
      fail_all(f, make_error(errc::timeout, "key " + key + ": no result within "
                                              + std::to_string(st.cfg.timeout.count() / 1000000)
                                              + " ms (worker " + f.worker_label + ")"));
      end_flight(self, key);
      return;
    }
    // The worker's own answer, an error: every caller gets it, as it would get a value.
  } else if (w != st.workers.end()) {
    ++w->second.computations;
  }
  ++st.completed;
  deliver_all(f, answer);
  end_flight(self, key);
}

/// The worker of `key` is gone: start the key again elsewhere or fail its callers.
void worker_lost(self_ptr self, const std::string& key, const caf::error& why) {
  auto& st = self->state;
  auto& f = st.flights.at(key);
  auto label = f.worker_label;
  if (f.attempts <= st.cfg.retries && self->clock().now() < f.deadline) {
    ++st.retried;
    st.log->warn("single_flight: worker {} lost while computing key {} ({}); retrying", label, key,
                 describe(why));
    dispatch(self, key, f.worker);
    return;
  }
  ++st.failed;
  st.log->warn("single_flight: worker {} lost while computing key {} ({}); {} caller(s) failed",
               label, key, describe(why), f.waiters.size());
  fail_all(f, make_error(errc::unavailable, "worker " + label + " lost while computing key " + key
                                              + ": " + describe(why)));
  end_flight(self, key);
}

caf::result<caf::message> handle_run(self_ptr self, caf::message_view& x) {
  auto& st = self->state;
  auto& xs = x.content();
  if (xs.size() < 2 || !xs.match_element<std::string>(1)) {
    st.log->warn("single_flight: refused a run without a string key ({} element(s))", xs.size());
    return make_error(errc::bad_request, "run needs (run, key: string, args...)");
  }
  auto key = xs.get_as<std::string>(1);
  auto i = st.flights.find(key);
  if (i != st.flights.end()) {
    ++st.shared;
    i->second.waiters.push_back(self->make_response_promise());
    return i->second.waiters.back();
  }
  if (st.flights.size() >= st.cfg.max_keys)
    return make_error(errc::overloaded, "single_flight: " + std::to_string(st.cfg.max_keys)
                                          + " keys in flight already");
  auto& f = st.flights[key];
  f.request = x.copy_content_to_message();
  f.since_ms = unix_ms_now();
  f.deadline = self->clock().now() + st.cfg.timeout;
  f.serial = ++st.next_id;
  f.waiters.push_back(self->make_response_promise());
  auto rp = f.waiters.back();
  self->delayed_send(self, st.cfg.timeout, expire_atom::value, key, f.serial);
  dispatch(self, key);
  return rp;
}

void drop_worker(self_ptr self, const caf::actor_addr& addr, const caf::error& why) {
  auto& st = self->state;
  auto w = st.workers.find(addr);
  if (w == st.workers.end())
    return;
  st.log->info("single_flight: worker {} left the pool: {}", w->second.label, describe(why));
  st.workers.erase(w);
  std::vector<std::string> keys;
  for (auto& [key, f] : st.flights)
    if (f.worker == addr)
      keys.push_back(key);
  for (auto& key : keys)
    worker_lost(self, key, why);
}

} // namespace

caf::behavior single_flight(caf::stateful_actor<single_flight_state>* self,
                            single_flight_settings cfg, std::shared_ptr<spdlog::logger> log) {
  self->state.cfg = cfg;
  self->state.log = std::move(log);
  self->set_error_handler([self](caf::scheduled_actor*, caf::error& err) {
    self->state.log->warn("single_flight: dropped a stray error message: {}", describe(err));
  });
  self->set_default_handler(
    [self](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
      auto& xs = x.content();
      if (xs.size() >= 1 && xs.match_element<caf::atom_value>(0)
          && xs.get_as<caf::atom_value>(0) == run_atom::value)
        return handle_run(self, x);
      self->state.log->warn("single_flight: dropped an unexpected message of {} element(s)",
                            xs.size());
      return caf::sec::unexpected_message;
    });
  self->set_down_handler([self](caf::down_msg& dm) {
    auto reason = dm.reason ? dm.reason : make_error(errc::unavailable, "worker stopped");
    drop_worker(self, dm.source, reason);
  });
  return {
    [self](join_atom, caf::actor worker, std::string& label) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      if (!worker)
        return make_error(errc::bad_request, "join needs a worker actor");
      auto& entry = st.workers[worker.address()];
      if (!entry.handle) {
        entry.handle = worker;
        self->monitor(worker);
        st.log->info("single_flight: worker {} joined the pool ({} worker(s))", label,
                     st.workers.size());
      }
      entry.label = std::move(label);
      // Keys that waited for a worker start now, oldest first.
      auto queued = std::move(st.queued);
      st.queued.clear();
      for (auto& key : queued)
        if (st.flights.count(key) > 0)
          dispatch(self, key);
      return caf::ok_atom::value;
    },
    [self](leave_atom, caf::actor worker) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      auto w = st.workers.find(worker.address());
      if (w != st.workers.end()) {
        st.log->info("single_flight: worker {} left the pool", w->second.label);
        self->demonitor(worker);
        st.workers.erase(w);
      }
      return caf::ok_atom::value;
    },
    [self](expire_atom, const std::string& key, uint64_t serial) {
      auto& st = self->state;
      auto i = st.flights.find(key);
      if (i == st.flights.end() || i->second.serial != serial)
        return;
      auto& f = i->second;
      ++st.failed;
      auto where = f.worker ? "worker " + f.worker_label : std::string{"no worker joined"};
      st.log->warn("single_flight: key {} timed out ({}); {} caller(s) failed", key, where,
                   f.waiters.size());
      fail_all(f, make_error(errc::timeout, "key " + key + ": no result within "
                                              + std::to_string(st.cfg.timeout.count() / 1000000)
                                              + " ms (" + where + ")"));
      end_flight(self, key);
    },
    [self](status_atom, const std::string& key) {
      auto& st = self->state;
      auto i = st.flights.find(key);
      if (i == st.flights.end())
        return caf::make_message(std::string{"idle"}, std::string{}, int64_t{0}, uint64_t{0},
                                 int32_t{0});
      auto& f = i->second;
      return caf::make_message(std::string{f.worker ? "running" : "queued"}, f.worker_label,
                               f.since_ms, static_cast<uint64_t>(f.waiters.size()), f.attempts);
    },
    [self](status_atom) {
      auto& st = self->state;
      return caf::make_message(static_cast<uint64_t>(st.workers.size()),
                               static_cast<uint64_t>(st.flights.size()), st.started, st.shared,
                               st.completed, st.failed, st.retried);
    },
  };
}

// -- pool_joiner ----------------------------------------------------------------------------------

namespace {

using joiner_ptr = caf::stateful_actor<pool_joiner_state>*;

constexpr timespan initial_backoff = std::chrono::milliseconds{100};

void schedule_rejoin(joiner_ptr self, timespan delay) {
  auto gen = ++self->state.gen;
  if (delay.count() <= 0)
    self->send(self, rejoin_atom::value, gen);
  else
    self->delayed_send(self, delay, rejoin_atom::value, gen);
}

/// The next try after a failed lookup or join: 100 ms, doubling up to the refresh interval, so
/// that a pool that comes back is joined soon without polling a missing one hard.
void retry_soon(joiner_ptr self) {
  auto& st = self->state;
  auto delay = std::min(st.backoff, st.interval);
  st.backoff = std::min(st.backoff * 2, st.interval);
  schedule_rejoin(self, delay);
}

void forget_pool(joiner_ptr self) {
  auto& st = self->state;
  if (st.pool)
    self->demonitor(st.pool);
  st.pool = caf::actor{};
  st.joined = false;
}

void rejoin(joiner_ptr self) {
  auto& st = self->state;
  if (!st.pool) {
    auto hdl = st.lookup(st.pool_name);
    if (!hdl || !*hdl) {
      st.log->debug("pool_joiner: {} cannot find pool {} yet: {}", st.label, st.pool_name,
                    hdl ? std::string{"no handle"} : describe(hdl.error()));
      retry_soon(self);
      return;
    }
    st.pool = std::move(*hdl);
    self->monitor(st.pool);
  }
  auto pool = st.pool;
  self->request(pool, st.interval, join_atom::value, st.worker, st.label)
    .then(
      [self](caf::ok_atom) {
        auto& s = self->state;
        if (!s.joined)
          s.log->info("pool_joiner: {} joined pool {}", s.label, s.pool_name);
        s.joined = true;
        s.backoff = initial_backoff;
        ++s.joins;
      },
      [self, pool](caf::error& err) {
        auto& s = self->state;
        s.log->info("pool_joiner: {} could not join pool {}: {}", s.label, s.pool_name,
                    describe(err));
        if (s.pool == pool) {
          forget_pool(self); // look the name up again, soon
          retry_soon(self);
        }
      });
  schedule_rejoin(self, st.interval);
}

} // namespace

caf::behavior pool_joiner(caf::stateful_actor<pool_joiner_state>* self, caf::actor worker,
                          std::string pool_name, std::string label, lookup_function lookup,
                          timespan interval, std::shared_ptr<spdlog::logger> log) {
  auto& st = self->state;
  st.worker = std::move(worker);
  st.pool_name = std::move(pool_name);
  st.label = std::move(label);
  st.lookup = std::move(lookup);
  st.interval = interval.count() > 0 ? interval : timespan{std::chrono::seconds{1}};
  st.log = std::move(log);
  self->set_error_handler([](caf::scheduled_actor*, caf::error&) {});
  self->set_default_handler(
    [](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
      return caf::sec::unexpected_message;
    });
  self->monitor(st.worker);
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& s = self->state;
    if (dm.source == s.worker.address()) {
      self->quit(caf::exit_reason::normal);
      return;
    }
    if (s.pool && dm.source == s.pool.address()) {
      s.log->info("pool_joiner: {} lost pool {}: {}; joining again", s.label, s.pool_name,
                  describe(dm.reason));
      forget_pool(self);
      schedule_rejoin(self, timespan{0});
    }
  });
  schedule_rejoin(self, timespan{0});
  return {
    [self](rejoin_atom, uint64_t gen) {
      if (gen == self->state.gen)
        rejoin(self);
    },
    [self](status_atom) {
      auto& s = self->state;
      return caf::make_message(s.joined, s.joins);
    },
  };
}

} // namespace troupe::actors
