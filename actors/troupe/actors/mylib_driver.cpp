#include "troupe/actors/mylib_driver.hpp"
#include "troupe/actors/robust.hpp"

#include <limits>

#include <spdlog/spdlog.h>

#include "caf/event_based_actor.hpp"
#include "caf/result.hpp"

#include "troupe/actors/atoms.hpp"
#include "troupe/actors/mylib.hpp"
#include "troupe/errc.hpp"

namespace troupe::actors {

mylib_driver_state::~mylib_driver_state() {
  // Runs on the driver's thread (detached actors destroy their state there), so a library that
  // the user never `uninit`ed is still released from its owning thread.
  if (initialized && lib) {
    lib->uninit();
    if (log)
      log->info("mylib_driver: uninit at shutdown");
  }
}

caf::behavior mylib_driver(caf::stateful_actor<mylib_driver_state>* self,
                           std::shared_ptr<mylib::library> lib, std::shared_ptr<spdlog::logger> log,
                           std::shared_ptr<mylib_driver_memory> memory) {
  auto& st0 = self->state;
  st0.lib = std::move(lib);
  st0.log = std::move(log);
  st0.memory = memory ? std::move(memory) : std::make_shared<mylib_driver_memory>();
  drop_strangers(self, st0.log, "mylib_driver");
  self->set_exception_handler(
    [self](caf::scheduled_actor*, std::exception_ptr& eptr) -> caf::error {
      try {
        std::rethrow_exception(eptr);
      } catch (const std::exception& x) {
        self->state.log->error("mylib_driver: {}", x.what());
        return make_error(errc::system_error, x.what());
      } catch (...) {
        return make_error(errc::system_error, "mylib_driver: unknown exception");
      }
    });
  // This function runs on the driver's own thread (detached), so a re-init after a restart
  // happens on the thread that will make every later call.
  if (st0.memory->wanted_init) {
    st0.lib->init();
    st0.initialized = true;
    st0.log->info("mylib_driver: init on restart (the library was initialized before)");
  }
  return {
    [self](init_atom) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      if (!st.initialized) {
        st.lib->init();
        st.initialized = true;
        st.log->info("mylib_driver: init");
      }
      st.memory->wanted_init = true;
      return caf::ok_atom::value;
    },
    [self](calc_atom, int32_t x) -> caf::result<int32_t> {
      auto& st = self->state;
      if (!st.initialized)
        return make_error(errc::not_initialized, "calc before init");
      if (x == std::numeric_limits<int32_t>::max())
        return make_error(errc::bad_request, "calc(" + std::to_string(x) + ") overflows int32");
      return static_cast<int32_t>(st.lib->calc(x));
    },
    [self](read_config_atom) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      if (!st.initialized)
        return make_error(errc::not_initialized, "readConfig before init");
      st.log->info("mylib_driver: readConfig started");
      st.lib->readConfig();
      st.log->info("mylib_driver: readConfig done");
      return caf::ok_atom::value;
    },
    [self](uninit_atom) -> caf::result<caf::ok_atom> {
      auto& st = self->state;
      if (st.initialized) {
        st.lib->uninit();
        st.initialized = false;
        st.log->info("mylib_driver: uninit");
      }
      st.memory->wanted_init = false;
      return caf::ok_atom::value;
    },
  };
}

} // namespace troupe::actors
