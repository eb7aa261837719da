#define CAF_SUITE bridges.codec

#include "troupe/bridges/codec.hpp"

#include <limits>
#include <map>
#include <string>
#include <vector>

#include <msgpack.hpp>

#include "caf/test/dsl.hpp"

#include "caf/actor_system.hpp"
#include "caf/actor_system_config.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/io/middleman.hpp"
#include "caf/sec.hpp"

#include "troupe/bridges/detail/msgpack_io.hpp"
#include "troupe/bridges/msgpack_serializer.hpp"
#include "troupe/errc.hpp"

using namespace caf;
using namespace troupe;
using namespace troupe::bridges;

namespace {

struct point {
  int32_t x = 0;
  int32_t y = 0;
  std::string label;
  std::vector<double> samples;
};

bool operator==(const point& a, const point& b) {
  return a.x == b.x && a.y == b.y && a.label == b.label && a.samples == b.samples;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, point& x) {
  return f(meta::type_name("point"), x.x, x.y, x.label, x.samples);
}

struct config : actor_system_config {
  config() {
    add_message_type<point>("point");
    add_message_type<std::vector<double>>("std::vector<double>");
    add_message_type<std::vector<int32_t>>("std::vector<int32_t>");
    add_message_type<std::vector<point>>("std::vector<point>");
    troupe::add_error_category(*this);
    load<io::middleman>();
    // No network activity is needed; keep the middleman's thread count minimal.
    set("middleman.workers", 0);
  }
};

struct fixture {
  config cfg;
  actor_system sys{cfg};

  std::vector<char> encode(const message& msg) {
    std::vector<char> buf;
    encode_header(buf, frame_kind::message, 7, 9, "", 42);
    auto err = encode_payload(sys, sys.dummy_execution_unit(), msg, buf);
    CAF_REQUIRE_EQUAL(err, none);
    return buf;
  }

  expected<message> decode(const std::vector<char>& frame) {
    auto env = decode_envelope(frame.data(), frame.size());
    if (!env)
      return env.error();
    return decode_payload(sys, sys.dummy_execution_unit(), env->body, env->body_size);
  }

  message roundtrip(const message& msg) {
    auto result = decode(encode(msg));
    if (!result)
      CAF_MESSAGE("decode failed: " << describe(result.error()));
    CAF_REQUIRE(result);
    return std::move(*result);
  }
};

bool is_bad_frame(const error& err) {
  return err.category() == errc_category && err.code() == static_cast<uint8_t>(errc::bad_frame);
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(codec_tests, fixture)

CAF_TEST(integers keep their extreme values) {
  auto msg = make_message(std::numeric_limits<int8_t>::min(), std::numeric_limits<uint8_t>::max(),
                          std::numeric_limits<int16_t>::min(), std::numeric_limits<uint16_t>::max(),
                          std::numeric_limits<int32_t>::min(), std::numeric_limits<uint32_t>::max(),
                          std::numeric_limits<int64_t>::min(), std::numeric_limits<uint64_t>::max(),
                          int32_t{-1}, int64_t{0});
  auto out = roundtrip(msg);
  CAF_REQUIRE((out.match_elements<int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t, int64_t,
                                  uint64_t, int32_t, int64_t>()));
  CAF_CHECK_EQUAL(out.get_as<int8_t>(0), std::numeric_limits<int8_t>::min());
  CAF_CHECK_EQUAL(out.get_as<uint8_t>(1), std::numeric_limits<uint8_t>::max());
  CAF_CHECK_EQUAL(out.get_as<int16_t>(2), std::numeric_limits<int16_t>::min());
  CAF_CHECK_EQUAL(out.get_as<uint16_t>(3), std::numeric_limits<uint16_t>::max());
  CAF_CHECK_EQUAL(out.get_as<int32_t>(4), std::numeric_limits<int32_t>::min());
  CAF_CHECK_EQUAL(out.get_as<uint32_t>(5), std::numeric_limits<uint32_t>::max());
  CAF_CHECK_EQUAL(out.get_as<int64_t>(6), std::numeric_limits<int64_t>::min());
  CAF_CHECK_EQUAL(out.get_as<uint64_t>(7), std::numeric_limits<uint64_t>::max());
  CAF_CHECK_EQUAL(out.get_as<int32_t>(8), -1);
  CAF_CHECK_EQUAL(out.get_as<int64_t>(9), 0);
}

CAF_TEST(booleans floating point and strings) {
  std::string long_str(70000, 'x');
  auto flags = roundtrip(make_message(true, false));
  CAF_REQUIRE((flags.match_elements<bool, bool>()));
  CAF_CHECK_EQUAL(flags.get_as<bool>(0), true);
  CAF_CHECK_EQUAL(flags.get_as<bool>(1), false);
  auto msg = make_message(1.5f, -2.25, static_cast<long double>(0.5), std::string{"h\xc3\xa9llo"},
                          std::u16string{u"\u00e9t\u00e9"}, std::u32string{U"\U0001F600"}, long_str,
                          std::string{});
  auto out = roundtrip(msg);
  CAF_REQUIRE((out.match_elements<float, double, long double, std::string, std::u16string,
                                  std::u32string, std::string, std::string>()));
  CAF_CHECK_EQUAL(out.get_as<float>(0), 1.5f);
  CAF_CHECK_EQUAL(out.get_as<double>(1), -2.25);
  CAF_CHECK(out.get_as<long double>(2) == 0.5L);
  CAF_CHECK_EQUAL(out.get_as<std::string>(3), "h\xc3\xa9llo");
  CAF_CHECK(out.get_as<std::u16string>(4) == u"\u00e9t\u00e9");
  CAF_CHECK(out.get_as<std::u32string>(5) == U"\U0001F600");
  CAF_CHECK_EQUAL(out.get_as<std::string>(6), long_str);
  CAF_CHECK_EQUAL(out.get_as<std::string>(7), "");
}

CAF_TEST(atoms containers durations and errors) {
  std::vector<std::string> strs{"a", "", "ccc"};
  std::map<std::string, std::string> kvs{{"k", "v"}, {"x", "y"}};
  std::vector<int32_t> ints{1, -2, 3};
  auto err = make_error(errc::calc_fail, "busy");
  auto msg = make_message(atom("calc"), strs, kvs, ints, timespan{1234567}, err,
                          make_error(sec::request_timeout));
  auto out = roundtrip(msg);
  CAF_REQUIRE(
    (out.match_elements<atom_value, std::vector<std::string>, std::map<std::string, std::string>,
                        std::vector<int32_t>, timespan, error, error>()));
  CAF_CHECK_EQUAL(out.get_as<atom_value>(0), atom("calc"));
  CAF_CHECK_EQUAL(out.get_as<std::vector<std::string>>(1), strs);
  CAF_CHECK(out.get_as<decltype(kvs)>(2) == kvs);
  CAF_CHECK_EQUAL(out.get_as<std::vector<int32_t>>(3), ints);
  CAF_CHECK_EQUAL(out.get_as<timespan>(4), timespan{1234567});
  CAF_CHECK_EQUAL(out.get_as<error>(5), err);
  CAF_CHECK_EQUAL(describe(out.get_as<error>(5)), "calc_fail: busy");
  CAF_CHECK_EQUAL(out.get_as<error>(6), sec::request_timeout);
}

CAF_TEST(user types go through their inspect overload) {
  point p{3, -4, "origin", {0.5, 1.5}};
  std::vector<point> ps{p, point{1, 2, "", {}}};
  auto out = roundtrip(make_message(p, ps));
  CAF_REQUIRE((out.match_elements<point, std::vector<point>>()));
  CAF_CHECK(out.get_as<point>(0) == p);
  CAF_CHECK(out.get_as<std::vector<point>>(1) == ps);
}

CAF_TEST(local actor handles inside payloads resolve to the same actor) {
  auto worker = sys.spawn([]() -> behavior { return {[](int32_t x) { return x + 1; }}; });
  auto msg = make_message(worker, actor_cast<strong_actor_ptr>(worker));
  auto out = roundtrip(msg);
  CAF_REQUIRE((out.match_elements<actor, strong_actor_ptr>()));
  CAF_CHECK_EQUAL(out.get_as<actor>(0), worker);
  CAF_CHECK_EQUAL(out.get_as<strong_actor_ptr>(1), actor_cast<strong_actor_ptr>(worker));
  anon_send_exit(worker, exit_reason::user_shutdown);
}

CAF_TEST(the frame is plain msgpack readable by a reference implementation) {
  auto frame = encode(make_message(atom("add"), int32_t{42}, std::string{"x"}));
  auto handle = msgpack::unpack(frame.data(), frame.size());
  auto obj = handle.get();
  CAF_REQUIRE_EQUAL(obj.type, msgpack::type::ARRAY);
  CAF_REQUIRE_EQUAL(obj.via.array.size, 6u);
  auto* f = obj.via.array.ptr;
  CAF_CHECK_EQUAL(f[0].as<uint32_t>(), protocol_version);
  CAF_CHECK_EQUAL(f[1].as<int>(), static_cast<int>(frame_kind::message));
  CAF_CHECK_EQUAL(f[2].as<uint64_t>(), 7u);
  CAF_CHECK_EQUAL(f[3].as<uint64_t>(), 9u);
  CAF_CHECK_EQUAL(f[4].as<uint64_t>(), 42u);
  auto& payload = f[5];
  CAF_REQUIRE_EQUAL(payload.type, msgpack::type::ARRAY);
  CAF_REQUIRE_EQUAL(payload.via.array.size, 3u);
  auto elem = [&](size_t i) { return payload.via.array.ptr[i].via.array.ptr; };
  CAF_CHECK_EQUAL(elem(0)[0].as<std::string>(), "@atom");
  CAF_CHECK_EQUAL(elem(0)[1].via.array.ptr[0].as<uint64_t>(), static_cast<uint64_t>(atom("add")));
  CAF_CHECK_EQUAL(elem(1)[0].as<std::string>(), "@i32");
  CAF_CHECK_EQUAL(elem(1)[1].via.array.ptr[0].as<int>(), 42);
  CAF_CHECK_EQUAL(elem(2)[0].as<std::string>(), "@str");
  CAF_CHECK_EQUAL(elem(2)[1].via.array.ptr[0].as<std::string>(), "x");
}

CAF_TEST(envelopes carry addressing by id and by name) {
  std::vector<char> buf;
  encode_header(buf, frame_kind::lookup, 5, 0, "calc-proxy", 77);
  encode_str_body(buf, "calc-proxy");
  auto env = decode_envelope(buf.data(), buf.size());
  CAF_REQUIRE(env);
  CAF_CHECK_EQUAL(env->kind, frame_kind::lookup);
  CAF_CHECK_EQUAL(env->sender, 5u);
  CAF_CHECK_EQUAL(env->receiver, 0u);
  CAF_CHECK_EQUAL(env->receiver_name, "calc-proxy");
  CAF_CHECK_EQUAL(env->mid, 77u);
  CAF_CHECK_EQUAL(decode_str_body(env->body, env->body_size), std::string{"calc-proxy"});
}

CAF_TEST(hello bodies round trip) {
  hello_body hb{"backend", sys.node(), 250, registered_type_names(sys)};
  std::vector<char> buf;
  encode_header(buf, frame_kind::hello, 0, 0, "", 0);
  encode_hello(buf, hb);
  auto env = decode_envelope(buf.data(), buf.size());
  CAF_REQUIRE(env);
  auto out = decode_hello(env->body, env->body_size);
  CAF_REQUIRE(out);
  CAF_CHECK_EQUAL(out->node_name, "backend");
  CAF_CHECK_EQUAL(out->node, sys.node());
  CAF_CHECK_EQUAL(out->heartbeat_ms, 250u);
  CAF_CHECK_EQUAL(out->types, hb.types);
  CAF_CHECK(std::find(out->types.begin(), out->types.end(), "point") != out->types.end());
}

CAF_TEST(hello bodies carry an optional heartbeat timeout) {
  hello_body hb{"backend", sys.node(), 250, {}};
  std::vector<char> five;
  encode_hello(five, hb);
  CAF_CHECK_EQUAL(static_cast<uint8_t>(five[0]), 0x95u); // without a timeout: 5 fields, as before
  auto out = decode_hello(five.data(), five.size());
  CAF_REQUIRE(out);
  CAF_CHECK_EQUAL(out->heartbeat_timeout_ms, 0u);
  hb.heartbeat_timeout_ms = 1500;
  std::vector<char> six;
  encode_hello(six, hb);
  CAF_CHECK_EQUAL(static_cast<uint8_t>(six[0]), 0x96u);
  out = decode_hello(six.data(), six.size());
  CAF_REQUIRE(out);
  CAF_CHECK_EQUAL(out->heartbeat_timeout_ms, 1500u);
  CAF_CHECK_EQUAL(out->heartbeat_ms, 250u);
  hb.heartbeat_timeout_ms = 100; // a positive fixint: the last byte
  std::vector<char> bad;
  encode_hello(bad, hb);
  bad.back() = '\xc0'; // nil instead of a uint
  CAF_CHECK(!decode_hello(bad.data(), bad.size()));
}

CAF_TEST(every truncation of a valid frame is rejected) {
  point p{1, 2, "label", {1.0}};
  auto frame = encode(make_message(atom("x"), p, std::string{"hello"}, int64_t{-5}));
  CAF_REQUIRE(decode(frame));
  for (size_t n = 0; n < frame.size(); ++n) {
    std::vector<char> prefix(frame.begin(), frame.begin() + static_cast<ptrdiff_t>(n));
    auto out = decode(prefix);
    if (out) {
      CAF_FAIL("prefix of length " << n << " decoded");
    }
    CAF_CHECK(is_bad_frame(out.error()));
  }
}

CAF_TEST(malformed frames are rejected with bad_frame) {
  auto reject = [&](std::vector<char> frame, const char* what) {
    CAF_MESSAGE("case: " << what);
    auto out = decode(frame);
    CAF_CHECK(!out);
    if (!out)
      CAF_CHECK(is_bad_frame(out.error()));
  };
  reject({}, "empty");
  reject({'\xc1'}, "never-used byte");
  reject({'\x96', '\x02', '\x03', '\x00', '\x00', '\x00', '\x90'}, "wrong version");
  reject({'\x96', '\x01', '\x63', '\x00', '\x00', '\x00', '\x90'}, "unknown kind");
  reject({'\x95', '\x01', '\x03', '\x00', '\x00', '\x00'}, "five fields");
  // Array header claiming 2^32-1 elements.
  reject({'\x96', '\x01', '\x03', '\x00', '\x00', '\x00', '\xdd', '\xff', '\xff', '\xff', '\xff'},
         "huge array count");
  // A payload element of an unknown type.
  {
    std::vector<char> buf;
    encode_header(buf, frame_kind::message, 1, 2, "", 0);
    troupe::detail::msgpack_writer w{buf};
    w.write_array_header(1);
    w.write_array_header(2);
    w.write_str("no_such_type");
    w.write_array_header(1);
    w.write_uint(1);
    reject(buf, "unknown type");
  }
  // An @i32 element with a value out of range and with two values.
  for (int variant = 0; variant < 3; ++variant) {
    std::vector<char> buf;
    encode_header(buf, frame_kind::message, 1, 2, "", 0);
    troupe::detail::msgpack_writer w{buf};
    w.write_array_header(1);
    w.write_array_header(2);
    w.write_str(variant == 2 ? "point" : "@i32");
    if (variant == 0) {
      w.write_array_header(1);
      w.write_uint(uint64_t{1} << 40);
    } else {
      w.write_array_header(2);
      w.write_uint(1);
      w.write_uint(2);
    }
    reject(buf, variant == 0 ? "i32 out of range" : "wrong field count");
  }
  // Trailing garbage after a valid frame.
  auto frame = encode(make_message(int32_t{1}));
  frame.push_back('\x00');
  reject(frame, "trailing byte");
  // Oversized frame.
  auto big = encode(make_message(std::string(1000, 'x')));
  auto env = decode_envelope(big.data(), big.size(), 512);
  CAF_CHECK(!env && is_bad_frame(env.error()));
}

CAF_TEST(nesting is bounded before the decoder recurses) {
  // Messages and errors nest through message::load, which recurses; a 30,000-deep payload used
  // to overflow the stack of the I/O thread. Shallow nesting still decodes.
  auto nest = [](size_t depth, bool as_error) {
    auto msg = make_message(int32_t{7});
    for (size_t i = 0; i < depth; ++i)
      // make_message(msg) alone would return msg itself: add a sibling to really nest.
      msg = as_error ? make_message(make_error(sec::runtime_error, msg))
                     : make_message(int32_t{0}, msg);
    return msg;
  };
  for (bool as_error : {false, true}) {
    CAF_MESSAGE("nested " << (as_error ? "errors" : "messages"));
    CAF_CHECK(decode(encode(nest(8, as_error))));
    auto deep = decode(encode(nest(msgpack_deserializer::max_depth + 4, as_error)));
    CAF_CHECK(!deep);
    if (!deep)
      CAF_CHECK(is_bad_frame(deep.error()));
  }
  // The attacker's frame, written by hand: ["@message", ["@<>+@message" x N, "@<>"]] and its
  // @error twin. The same layout shallow must decode, so the deep rejection is the depth bound.
  auto handmade = [](size_t depth, bool as_error) {
    std::vector<char> buf;
    encode_header(buf, frame_kind::message, 1, 2, "", 0);
    troupe::detail::msgpack_writer w{buf};
    w.write_array_header(1);
    w.write_array_header(2);
    w.write_str(as_error ? "@error" : "@message");
    if (as_error) {
      // code, category, then the context: a message holding an error, and so on.
      w.write_array_header(depth * 3 + 3);
      for (size_t i = 0; i < depth; ++i) {
        w.write_uint(1);
        w.write_uint(0);
        w.write_str("@<>+@error");
      }
      w.write_uint(1);
      w.write_uint(0);
      w.write_str("@<>");
    } else {
      w.write_array_header(depth + 1);
      for (size_t i = 0; i < depth; ++i)
        w.write_str("@<>+@message");
      w.write_str("@<>");
    }
    return buf;
  };
  for (bool as_error : {false, true}) {
    CAF_MESSAGE("handmade " << (as_error ? "errors" : "messages"));
    CAF_CHECK(decode(handmade(3, as_error)));
    auto out = decode(handmade(30000, as_error));
    CAF_CHECK(!out);
    if (!out)
      CAF_CHECK(is_bad_frame(out.error()));
  }
}

CAF_TEST(pseudo random garbage never decodes into a crash) {
  uint64_t state = 0x9e3779b97f4a7c15;
  auto next = [&] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  auto valid = encode(make_message(atom("x"), point{1, 2, "abc", {2.0}}, std::string{"s"}));
  size_t decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    auto frame = valid;
    // Flip a few random bytes of a valid frame: reaches deeper than pure noise.
    auto flips = 1 + next() % 4;
    for (size_t j = 0; j < flips; ++j)
      frame[next() % frame.size()] = static_cast<char>(next());
    if (decode(frame))
      ++decoded;
  }
  CAF_MESSAGE(decoded << " of 20000 mutated frames still decoded");
  CAF_CHECK_LESS(decoded, 20000u);
}

CAF_TEST(builtin type names decode to the builtin type of that number) {
  // The decoder makes builtin values by type number (looked up by name), user types by name.
  for (uint16_t nr = 1; nr < type_nrs; ++nr) {
    auto by_nr = sys.types().make_value(nr);
    auto by_name = sys.types().make_value(std::string{numbered_type_names[nr - 1]});
    CAF_REQUIRE(by_nr != nullptr && by_name != nullptr);
    CAF_CHECK_EQUAL(by_nr->type().first, nr);
    CAF_CHECK_EQUAL(by_name->type().first, nr);
  }
}

CAF_TEST_FIXTURE_SCOPE_END()
