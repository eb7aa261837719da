#include "troupe/actors/config_supervisor.hpp"
#include "troupe/actors/robust.hpp"

#include <spdlog/spdlog.h>

#include "caf/delegated.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/exit_reason.hpp"
#include "caf/result.hpp"
#include "caf/typed_response_promise.hpp"

#include "troupe/actors/atoms.hpp"
#include "troupe/errc.hpp"

namespace troupe::actors {

namespace {

using self_ptr = caf::stateful_actor<config_supervisor_state>*;

/// Schedules a tick for the moment the idle period ends, counted from the last activity.
void arm_timer(self_ptr self) {
  auto& st = self->state;
  if (st.idle.count() <= 0 || !st.initialized || st.reloading)
    return;
  auto due = st.last_activity + st.idle;
  auto now = self->clock().now();
  auto delay = due > now ? std::chrono::duration_cast<timespan>(due - now) : timespan{0};
  self->delayed_send(self, delay, tick_atom::value, st.timer_gen);
}

void start_reload(self_ptr self) {
  auto& st = self->state;
  st.reloading = true;
  ++st.timer_gen; // no idle tick while reloading
  st.log->info("config_supervisor: reload started");
  auto finish = [self] {
    auto& s = self->state;
    s.reloading = false;
    s.last_activity = self->clock().now();
    ++s.timer_gen;
    arm_timer(self);
  };
  self->request(st.driver, caf::infinite, read_config_atom::value)
    .then(
      [self, finish](caf::ok_atom) {
        ++self->state.reloads;
        self->state.log->info("config_supervisor: reload done");
        finish();
      },
      [self, finish](caf::error& err) {
        if (self->state.driver_down)
          return; // the down handler already ended the reload
        self->state.log->warn("config_supervisor: reload failed: {}", describe(err));
        finish();
      });
}

} // namespace

caf::behavior config_supervisor(caf::stateful_actor<config_supervisor_state>* self,
                                caf::actor driver, timespan idle,
                                std::shared_ptr<spdlog::logger> log) {
  auto& st = self->state;
  st.driver = std::move(driver);
  st.idle = idle;
  st.log = std::move(log);
  self->monitor(st.driver);
  drop_strangers(self, st.log, "config_supervisor");
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& s = self->state;
    if (dm.source != s.driver.address())
      return;
    auto clean = !dm.reason || dm.reason == caf::exit_reason::user_shutdown;
    s.log->log(clean ? spdlog::level::info : spdlog::level::err,
               "config_supervisor: driver down: {}", describe(dm.reason));
    s.driver_down = dm.reason ? dm.reason : make_error(errc::unavailable, "driver stopped");
    s.reloading = false;
    s.initialized = false;
    ++s.timer_gen;
  });
  auto unavailable = [self] {
    return make_error(errc::unavailable, "mylib driver went down ("
                                           + describe(self->state.driver_down)
                                           + "); init again once it is back");
  };
  return {
    [self](init_atom) -> caf::result<caf::ok_atom> {
      if (self->state.initialized)
        return caf::ok_atom::value;
      // Also after the driver went down: a driver reached by name has a new incarnation by now,
      // or the request fails fast (`unavailable`).
      auto rp = self->make_response_promise<caf::ok_atom>();
      self->request(self->state.driver, caf::infinite, init_atom::value)
        .then(
          [self, rp](caf::ok_atom) mutable {
            auto& s = self->state;
            s.driver_down = caf::none;
            if (!s.initialized) {
              s.initialized = true;
              s.last_activity = self->clock().now();
              ++s.timer_gen;
              arm_timer(self);
            }
            rp.deliver(caf::ok_atom::value);
          },
          [rp](caf::error& err) mutable { rp.deliver(std::move(err)); });
      return rp;
    },
    [self, unavailable](calc_atom, int32_t x) -> caf::result<int32_t> {
      auto& s = self->state;
      if (s.driver_down)
        return unavailable();
      if (!s.initialized)
        return make_error(errc::not_initialized, "calc before init");
      if (s.reloading) {
        ++s.calc_fails;
        return make_error(errc::calc_fail, "configuration reload in progress");
      }
      s.last_activity = self->clock().now();
      self->delegate(s.driver, calc_atom::value, x);
      return caf::delegated<int32_t>{};
    },
    [self, unavailable](reload_atom) -> caf::result<caf::ok_atom> {
      auto& s = self->state;
      if (s.driver_down)
        return unavailable();
      if (!s.initialized)
        return make_error(errc::not_initialized, "reload before init");
      if (!s.reloading)
        start_reload(self);
      return caf::ok_atom::value;
    },
    [self, unavailable](uninit_atom) -> caf::result<caf::ok_atom> {
      auto& s = self->state;
      if (s.driver_down)
        return unavailable();
      s.initialized = false;
      ++s.timer_gen;
      if (!s.reloading) {
        self->delegate(s.driver, uninit_atom::value);
        return caf::delegated<caf::ok_atom>{};
      }
      // The driver is blocked in readConfig; its mailbox keeps the uninit behind the reload, so
      // the caller need not wait for it.
      self->request(s.driver, caf::infinite, uninit_atom::value)
        .then([](caf::ok_atom) {},
              [self](caf::error& err) {
                self->state.log->warn("config_supervisor: deferred uninit failed: {}",
                                      describe(err));
              });
      return caf::ok_atom::value;
    },
    [self](tick_atom, uint64_t gen) {
      auto& s = self->state;
      if (gen != s.timer_gen || !s.initialized || s.reloading)
        return; // stale timer
      if (self->clock().now() - s.last_activity >= s.idle)
        start_reload(self);
      else
        arm_timer(self);
    },
    [self](status_atom) -> caf::result<bool, bool, uint64_t, uint64_t> {
      auto& s = self->state;
      return {s.initialized, s.reloading, s.reloads, s.calc_fails};
    },
  };
}

} // namespace troupe::actors
