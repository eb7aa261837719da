// libFuzzer entry point for the bridge decoder: every frame a peer can send goes through the same
// functions the hub calls on its I/O thread. Built by tests/bridges/CMakeLists.txt with clang++.

#include <cstddef>
#include <cstdint>

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"

#include "troupe/bridges/codec.hpp"

namespace {

struct point {
  int32_t x = 0;
  int32_t y = 0;
  std::string label;
  std::vector<double> samples;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, point& x) {
  return f(caf::meta::type_name("point"), x.x, x.y, x.label, x.samples);
}

struct config : caf::actor_system_config {
  config() {
    add_message_type<point>("point");
    add_message_type<std::vector<double>>("std::vector<double>");
    add_message_type<std::vector<point>>("std::vector<point>");
    set("scheduler.max-threads", 1);
  }
};

// Deliberately never destroyed: the fuzzer exits via _exit paths where static destructors of a
// running actor system would only add noise.
config* cfg_ptr;
caf::actor_system* sys_ptr;

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cfg_ptr = new config;
  sys_ptr = new caf::actor_system(*cfg_ptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace troupe::bridges;
  auto frame = reinterpret_cast<const char*>(data);
  auto env = decode_envelope(frame, size, 1 << 20);
  if (!env)
    return 0;
  auto& sys = *sys_ptr;
  switch (env->kind) {
    case frame_kind::hello:
    case frame_kind::hello_ack: (void)decode_hello(env->body, env->body_size); break;
    case frame_kind::message:
    case frame_kind::down:
      if (auto msg = decode_payload(sys, sys.dummy_execution_unit(), env->body, env->body_size)) {
        // Re-encoding a decoded message must work: it is what a forwarding hop would do.
        std::vector<char> buf;
        (void)encode_payload(sys, sys.dummy_execution_unit(), *msg, buf);
      }
      break;
    case frame_kind::lookup: (void)decode_str_body(env->body, env->body_size); break;
    case frame_kind::lookup_reply: (void)decode_uint_body(env->body, env->body_size); break;
    default: break;
  }
  return 0;
}
