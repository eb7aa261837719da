#include "troupe/actors/catalog.hpp"

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"

#include "troupe/actors/builtin.hpp"
#include "troupe/actors/config_supervisor.hpp"
#include "troupe/actors/mylib.hpp"
#include "troupe/actors/mylib_driver.hpp"
#include "troupe/catalog.hpp"
#include "troupe/config.hpp"
#include "troupe/counted_actor.hpp"
#include "troupe/errc.hpp"
#include "troupe/node.hpp"

namespace troupe::actors {

void add_to(catalog& types) {
  add_builtin_types(types);
  using namespace std::chrono_literals;
  types.add({
    "mylib_driver",
    "owns the thread of the vendor library mylib and makes every call to it from that thread; "
    "accepts (init), (calc, x), (readconfig), (uninit)",
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
    "reloads mylib's configuration when idle and answers calc with CALC-FAIL while it reloads; "
    "accepts (init), (calc, x), (reload), (uninit), (status)",
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

void add_message_types(caf::actor_system_config&) {
  // The slow-config protocol uses only atoms, int32 and bool/uint64 status fields, which CAF
  // knows already. Types added here later must also be known to every node of an app.
}

} // namespace troupe::actors
