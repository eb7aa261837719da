#include "troupe/actors/builtin.hpp"

#include "troupe/actors/generic.hpp"
#include "troupe/catalog.hpp"
#include "troupe/config.hpp"
#include "troupe/counted_actor.hpp"

namespace troupe::actors {

void add_builtin_types(catalog& types) {
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
