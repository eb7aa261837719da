#include "troupe/actors/catalog.hpp"

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"

#include <atomic>
#include <mutex>

#include "caf/actor_system.hpp"

#include "troupe/actors/config_supervisor.hpp"
#include "troupe/actors/flight_worker.hpp"
#include "troupe/actors/generic.hpp"
#include "troupe/actors/mylib.hpp"
#include "troupe/actors/mylib_driver.hpp"
#include "troupe/actors/single_flight.hpp"
#include "troupe/catalog.hpp"
#include "troupe/config.hpp"
#include "troupe/counted_actor.hpp"
#include "troupe/errc.hpp"
#include "troupe/node.hpp"

namespace troupe::actors {

void add_generic_types(catalog& types);
void add_flight_types(catalog& types);

void add_to(catalog& types) {
  add_generic_types(types);
  add_flight_types(types);
  using namespace std::chrono_literals;
  types.add({
    "mylib_driver",
    "owns the thread of the vendor library mylib and makes every call to it from that thread",
    {
      {"read_config", param_kind::duration_range, duration_range{0s, 30s},
       "range of the random time readConfig takes"},
      {"seed", param_kind::integer, int64_t{0}, "random seed of readConfig durations; 0 = random"},
      {"crash_probability", param_kind::number, 0.0,
       "probability that a readConfig crashes the driver (to exercise restarts)"},
    },
    [](const spawn_context& ctx) -> caf::expected<caf::actor> {
      auto& args = ctx.spec.args;
      mylib::settings cfg;
      auto range = args.get<duration_range>("read_config");
      cfg.read_config_min = range.min;
      cfg.read_config_max = range.max;
      cfg.seed = static_cast<uint64_t>(args.get<int64_t>("seed"));
      cfg.crash_probability = args.get<double>("crash_probability");
      if (cfg.crash_probability < 0 || cfg.crash_probability > 1)
        return make_error(errc::bad_config, "crash_probability must be within 0..1");
      auto lib = std::make_shared<mylib::library>(cfg);
      ctx.at_stop([lib] { lib->interrupt(); });
      return spawn_counted<caf::detached>(ctx.system(), mylib_driver, lib, ctx.logger(),
                                          ctx.persistent<mylib_driver_memory>());
    },
  });
  types.add({
    "config_supervisor",
    "reloads mylib's configuration when idle and answers calc with CALC-FAIL while it reloads",
    {
      {"driver", param_kind::actor_ref, std::nullopt, "the mylib_driver actor to supervise"},
      {"idle_before_reload", param_kind::duration, timespan{10s},
       "reload after this long without calc; \"0s\" disables idle reloads"},
    },
    [](const spawn_context& ctx) -> caf::expected<caf::actor> {
      auto driver = ctx.actor_param("driver");
      if (!driver)
        return std::move(driver.error());
      auto idle = ctx.spec.args.get<timespan>("idle_before_reload");
      return spawn_counted(ctx.system(), config_supervisor, std::move(*driver), idle, ctx.logger());
    },
  });
}

void add_generic_types(catalog& types) {
  types.add({"echo",
             "answers every message with the message itself",
             {},
             [](const spawn_context& ctx) -> caf::expected<caf::actor> {
               return spawn_counted(ctx.system(), echo);
             }});
  types.add({"sleeper",
             "(sleep, ms) blocks its own thread for ms, then answers ok",
             {},
             [](const spawn_context& ctx) -> caf::expected<caf::actor> {
               return spawn_counted<caf::detached>(ctx.system(), sleeper);
             }});
  types.add({"watcher",
             "monitors (and optionally links to) another actor and reports on it",
             {
               {"target", param_kind::actor_ref, std::nullopt, "the actor to watch"},
               {"link", param_kind::boolean, false, "also link to it and trap its exit"},
             },
             [](const spawn_context& ctx) -> caf::expected<caf::actor> {
               auto target = ctx.actor_param("target");
               if (!target)
                 return std::move(target.error());
               return spawn_counted(ctx.system(), watcher, std::move(*target),
                                    ctx.spec.args.get<bool>("link"));
             }});
}

namespace {

/// Ends a worker's lookups when its node stops: the node's registry and bridges go away after
/// `stop`, so no lookup may run past it (the hook waits for one in progress).
struct lookup_guard {
  std::mutex mtx;
  std::atomic<bool> stopping{false};
};

} // namespace

void add_flight_types(catalog& types) {
  using namespace std::chrono_literals;
  types.add({
    "single_flight",
    "runs each key once on a pool of workers; callers of a running key share its result",
    {
      {"timeout", param_kind::duration, timespan{30s},
       "a key's callers fail with timeout when no result came within this time"},
      {"retries", param_kind::integer, int64_t{1},
       "how often a key starts again on another worker after its worker was lost (0..10)"},
      {"max_keys", param_kind::integer, int64_t{10000}, "keys in flight at most (1..1000000)"},
    },
    [](const spawn_context& ctx) -> caf::expected<caf::actor> {
      auto& args = ctx.spec.args;
      single_flight_settings cfg;
      cfg.timeout = args.get<timespan>("timeout");
      auto retries = args.get<int64_t>("retries");
      auto max_keys = args.get<int64_t>("max_keys");
      if (cfg.timeout.count() <= 0)
        return make_error(errc::bad_config, "timeout must be positive");
      if (retries < 0 || retries > 10)
        return make_error(errc::bad_config, "retries must be within 0..10");
      if (max_keys < 1 || max_keys > 1000000)
        return make_error(errc::bad_config, "max_keys must be within 1..1000000");
      cfg.retries = static_cast<int32_t>(retries);
      cfg.max_keys = static_cast<size_t>(max_keys);
      return spawn_counted(ctx.system(), single_flight, cfg, ctx.logger());
    },
  });
  types.add({
    "flight_worker",
    "a simulated query for single_flight pools: (run, key[, ms]) works, then answers (key, "
    "worker, n); joins the pool named by `pool`",
    {
      {"pool", param_kind::string, std::string{},
       "name of the single_flight actor whose pool the worker joins; empty: none"},
      {"work", param_kind::duration, timespan{100ms}, "how long (run, key) works"},
      {"rejoin", param_kind::duration, timespan{1s},
       "how often the worker renews its membership, or looks for a pool it lost"},
    },
    [](const spawn_context& ctx) -> caf::expected<caf::actor> {
      auto& args = ctx.spec.args;
      auto work = args.get<timespan>("work");
      auto rejoin = args.get<timespan>("rejoin");
      auto pool = args.get<std::string>("pool");
      if (work.count() < 0)
        return make_error(errc::bad_config, "work must not be negative");
      if (rejoin.count() <= 0)
        return make_error(errc::bad_config, "rejoin must be positive");
      auto guard = std::make_shared<lookup_guard>();
      ctx.at_stop([guard] {
        std::lock_guard<std::mutex> lock{guard->mtx};
        guard->stopping = true;
      });
      auto stopping = std::shared_ptr<std::atomic<bool>>{guard, &guard->stopping};
      auto label = ctx.spec.name + "@" + ctx.host.name();
      auto worker
        = spawn_counted<caf::detached>(ctx.system(), flight_worker, label, work, stopping);
      if (!pool.empty()) {
        auto* host = &ctx.host;
        lookup_function lookup
          = [host, guard](const std::string& name) -> caf::expected<caf::actor> {
          std::lock_guard<std::mutex> lock{guard->mtx};
          if (guard->stopping)
            return make_error(errc::unavailable, "node stopping");
          return host->lookup(name);
        };
        // Detached: a lookup of a name on another node may block for the connect timeout.
        ctx.system().spawn<caf::detached>(pool_joiner, worker, pool, label, std::move(lookup),
                                          rejoin, ctx.logger());
      }
      return worker;
    },
  });
}

void add_message_types(caf::actor_system_config&) {
  // The slow-config protocol uses only atoms, int32 and bool/uint64 status fields, which CAF
  // knows already. Types added here later must also be known to every node of an app.
}

} // namespace troupe::actors
