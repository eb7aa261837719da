#include "troupe/actors/flight_worker.hpp"

#include <chrono>
#include <thread>

#include "caf/event_based_actor.hpp"
#include "caf/result.hpp"

#include "troupe/actors/atoms.hpp"
#include "troupe/actors/robust.hpp"
#include "troupe/errc.hpp"

namespace troupe::actors {

namespace {

using self_ptr = caf::stateful_actor<flight_worker_state>*;

caf::result<std::string, std::string, uint64_t> compute(self_ptr self, const std::string& key,
                                                        timespan work) {
  auto& st = self->state;
  // Sleep in slices so that a stopping node does not wait for a long computation.
  auto until = std::chrono::steady_clock::now() + work;
  while (std::chrono::steady_clock::now() < until) {
    if (st.stopping && st.stopping->load())
      return make_error(errc::unavailable, "worker " + st.label + " is stopping");
    auto left = until - std::chrono::steady_clock::now();
    std::this_thread::sleep_for(
      std::min<std::chrono::steady_clock::duration>(left, std::chrono::milliseconds{50}));
  }
  return {key, st.label, ++st.computations};
}

} // namespace

caf::behavior flight_worker(caf::stateful_actor<flight_worker_state>* self, std::string label,
                            timespan work, std::shared_ptr<std::atomic<bool>> stopping) {
  auto& st = self->state;
  st.label = std::move(label);
  st.work = work;
  st.stopping = std::move(stopping);
  drop_strangers(self, nullptr, "flight_worker");
  return {
    [self](run_atom, const std::string& key) { return compute(self, key, self->state.work); },
    [self](run_atom, const std::string& key,
           int32_t ms) -> caf::result<std::string, std::string, uint64_t> {
      if (ms < 0 || ms > 600000)
        return make_error(errc::bad_request, "flight_worker: work time must be 0..600000 ms");
      return compute(self, key, std::chrono::milliseconds{ms});
    },
    [self](status_atom) { return self->state.computations; },
  };
}

} // namespace troupe::actors
