#include "troupe/actors/builtin.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>

#include "caf/actor_system.hpp"

#include "troupe/actors/flight_worker.hpp"
#include "troupe/actors/generic.hpp"
#include "troupe/actors/single_flight.hpp"
#include "troupe/catalog.hpp"
#include "troupe/config.hpp"
#include "troupe/counted_actor.hpp"
#include "troupe/errc.hpp"
#include "troupe/node.hpp"

namespace troupe::actors {

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

void add_builtin_types(catalog& types) {
  add_flight_types(types);
  types.add({"echo",
             "answers every message with the message itself",
             {},
             [](const spawn_context& ctx) -> caf::expected<caf::actor> {
               return spawn_counted(ctx.system(), echo);
             }});
  types.add({"sleeper",
             "accepts (sleep, ms): blocks its own thread for ms, then answers ok",
             {},
             [](const spawn_context& ctx) -> caf::expected<caf::actor> {
               return spawn_counted<caf::detached>(ctx.system(), sleeper);
             }});
  types.add({"watcher",
             "monitors (and optionally links to) another actor; accepts (status)",
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

} // namespace troupe::actors
