#include "troupe/actors/mylib_client.hpp"

#include "caf/scoped_actor.hpp"
#include "caf/sec.hpp"

#include "troupe/actors/atoms.hpp"
#include "troupe/errc.hpp"

namespace troupe::actors {

namespace {

/// Sends `xs...` to `service` and waits at most `timeout` for an answer of type `T`.
template <class T, class... Ts>
caf::expected<T> call(caf::actor_system& sys, const caf::actor& service, timespan timeout,
                      Ts... xs) {
  if (!service)
    return make_error(errc::not_found, "no service");
  caf::expected<T> result{caf::error{}};
  caf::scoped_actor self{sys};
  self->request(service, timeout, xs...)
    .receive([&](T& value) { result = std::move(value); },
             [&](caf::error& err) {
               if (err == caf::sec::request_timeout)
                 result
                   = make_error(errc::timeout, "no answer within " + to_string_duration(timeout));
               else
                 result = std::move(err);
             });
  return result;
}

caf::error as_error(caf::expected<caf::ok_atom> x) {
  return x ? caf::error{} : std::move(x.error());
}

} // namespace

mylib_client::mylib_client(caf::actor_system& sys, caf::actor service, timespan timeout)
  : sys_(&sys), service_(std::move(service)), timeout_(timeout) {
  // nop
}

caf::error mylib_client::init() {
  return as_error(call<caf::ok_atom>(*sys_, service_, timeout_, init_atom::value));
}

caf::expected<int32_t> mylib_client::calc(int32_t x) {
  return call<int32_t>(*sys_, service_, timeout_, calc_atom::value, x);
}

caf::error mylib_client::reload() {
  return as_error(call<caf::ok_atom>(*sys_, service_, timeout_, reload_atom::value));
}

caf::error mylib_client::uninit() {
  return as_error(call<caf::ok_atom>(*sys_, service_, timeout_, uninit_atom::value));
}

} // namespace troupe::actors
