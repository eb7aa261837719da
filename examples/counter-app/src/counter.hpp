#pragma once

#include <cstdint>
#include <vector>

#include "troupe/troupe.hpp"

namespace counter_app {

using add_atom = caf::atom_constant<caf::atom("add")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using sum_atom = caf::atom_constant<caf::atom("sum")>;

/// The aggregator's answer to `sum`: a message type of our own, so it is registered with the
/// catalog (every node of the app and `counter-app call` then know it).
struct total {
  int64_t sum = 0;
  int32_t counters = 0;
};

inline bool operator==(const total& x, const total& y) {
  return x.sum == y.sum && x.counters == y.counters;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, total& x) {
  return f(caf::meta::type_name("total"), x.sum, x.counters);
}

/// A counter's state: CAF keeps it in the actor (`self->state`).
struct counter_state {
  int64_t count = 0;
  static inline const char* name = "counter";
};

/// `(add)` adds `step` and answers the new count; `(add, n)` adds n; `(get)` answers the count.
caf::behavior counter(caf::stateful_actor<counter_state>* self, int64_t start, int32_t step);

/// `(sum)` asks every counter for its count and answers a `total`.
caf::behavior aggregator(caf::event_based_actor* self, std::vector<caf::actor> counters);

/// Registers `counter`, `aggregator` and the message type `total` with `types`.
void add_types(troupe::catalog& types);

} // namespace counter_app
