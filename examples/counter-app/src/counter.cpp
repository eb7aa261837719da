#include "counter.hpp"

#include <chrono>
#include <memory>

namespace counter_app {

caf::behavior counter(caf::stateful_actor<counter_state>* self, int64_t start, int32_t step) {
  self->state.count = start;
  return {
    [=](add_atom) { return self->state.count += step; },
    [=](add_atom, int32_t n) { return self->state.count += n; },
    [=](get_atom) { return self->state.count; },
  };
}

caf::behavior aggregator(caf::event_based_actor* self, std::vector<caf::actor> counters) {
  return {
    [=](sum_atom) {
      // Answered later, when every counter has answered (or one failed).
      auto rp = self->make_response_promise<total>();
      auto result = std::make_shared<total>();
      auto failed = std::make_shared<bool>(false);
      if (counters.empty())
        rp.deliver(*result);
      for (auto& c : counters)
        self->request(c, std::chrono::seconds{2}, get_atom::value)
          .then(
            [=](int64_t count) mutable {
              result->sum += count;
              if (++result->counters == static_cast<int32_t>(counters.size()))
                rp.deliver(*result);
            },
            [=](caf::error& err) mutable {
              if (!*failed)
                rp.deliver(std::move(err));
              *failed = true;
            });
      return rp;
    },
  };
}

void add_types(troupe::catalog& types) {
  types.add(troupe::make_type("counter", "counts: (add), (add, n), (get)", counter,
                              troupe::param<int64_t>("start", 0, "the initial count"),
                              troupe::param<int32_t>("step", 1, "what (add) adds")
                                .require([](int64_t x) { return x != 0; }, "non-zero")));
  types.add(troupe::make_type("aggregator", "(sum) answers the total of its counters", aggregator,
                              troupe::param<std::vector<caf::actor>>("counters", "the counters")));
  types.add_message_type<total>("total");
}

} // namespace counter_app
