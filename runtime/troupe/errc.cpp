#include "troupe/errc.hpp"

#include "caf/actor_system_config.hpp"
#include "caf/message.hpp"
#include "caf/sec.hpp"

namespace troupe {

std::string to_string(errc x) {
  switch (x) {
    case errc::none: return "none";
    case errc::calc_fail: return "calc_fail";
    case errc::timeout: return "timeout";
    case errc::not_initialized: return "not_initialized";
    case errc::not_found: return "not_found";
    case errc::bad_config: return "bad_config";
    case errc::bad_request: return "bad_request";
    case errc::peer_lost: return "peer_lost";
    case errc::bad_frame: return "bad_frame";
    case errc::overloaded: return "overloaded";
    case errc::invalid_state: return "invalid_state";
    case errc::system_error: return "system_error";
    case errc::unavailable: return "unavailable";
  }
  return "errc(" + std::to_string(static_cast<int>(x)) + ")";
}

caf::error make_error(errc x) {
  return {static_cast<uint8_t>(x), errc_category};
}

caf::error make_error(errc x, std::string context) {
  return {static_cast<uint8_t>(x), errc_category, caf::make_message(std::move(context))};
}

namespace {

std::string context_suffix(const caf::message& ctx) {
  if (ctx.size() == 1 && ctx.match_element<std::string>(0))
    return ": " + ctx.get_as<std::string>(0);
  if (!ctx.empty())
    return ": " + to_string(ctx);
  return {};
}

} // namespace

void add_error_category(caf::actor_system_config& cfg) {
  cfg.add_error_category(errc_category, [](uint8_t code, caf::atom_value, const caf::message& ctx) {
    return to_string(static_cast<errc>(code)) + context_suffix(ctx);
  });
}

std::string describe(const caf::error& err) {
  if (!err)
    return "no error";
  if (err.category() == errc_category)
    return to_string(static_cast<errc>(err.code())) + context_suffix(err.context());
  if (err.category() == caf::atom("system"))
    return to_string(static_cast<caf::sec>(err.code())) + context_suffix(err.context());
  if (err.category() == caf::atom("exit"))
    return to_string(static_cast<caf::exit_reason>(err.code())) + context_suffix(err.context());
  return to_string(err);
}

} // namespace troupe
