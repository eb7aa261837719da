#pragma once

#include <memory>

#include "caf/message_view.hpp"
#include "caf/result.hpp"
#include "caf/scheduled_actor.hpp"
#include "caf/sec.hpp"

#include <spdlog/spdlog.h>

#include "troupe/errc.hpp"

namespace troupe::actors {

/// Makes a shipped actor robust against what any peer can send it: a bare `error` message (CAF's
/// default error handler would terminate the actor, losing its state) is logged and dropped, and
/// an unexpected message is answered with `unexpected_message` and logged by its element count
/// only (CAF's default prints it whole, so a 16 MiB payload became 16 MiB on stderr).
inline void drop_strangers(caf::scheduled_actor* self, std::shared_ptr<spdlog::logger> log,
                           const char* who) {
  self->set_error_handler([log, who](caf::scheduled_actor*, caf::error& err) {
    if (log)
      log->warn("{}: dropped a stray error message: {}", who, describe(err));
  });
  self->set_default_handler(
    [log, who](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
      if (log)
        log->warn("{}: dropped an unexpected message of {} element(s)", who, x.content().size());
      return caf::sec::unexpected_message;
    });
}

} // namespace troupe::actors
