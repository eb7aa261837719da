#define CAF_SUITE runtime.json

#include "troupe/json.hpp"

#include "troupe_test.hpp"

using namespace troupe;

CAF_TEST(an introspection report parses) {
  auto sut = parse_json(R"({"node":"a","pid":4242,"actors":[{"name":"e","mailbox":0,)"
                        R"("handled":17,"ok":true}],"relays":[],"none":null})");
  CAF_REQUIRE(sut);
  CAF_CHECK_EQUAL((*sut)["node"].text(), "a");
  CAF_CHECK_EQUAL((*sut)["pid"].text(), "4242");
  CAF_REQUIRE_EQUAL((*sut)["actors"].array.size(), 1u);
  auto& a = (*sut)["actors"].array[0];
  CAF_CHECK_EQUAL(a["handled"].text(), "17");
  CAF_CHECK_EQUAL(a["ok"].text(), "true");
  CAF_CHECK((*sut)["none"].type == json_value::kind::null);
  CAF_CHECK((*sut)["missing"].type == json_value::kind::null);
  CAF_CHECK((*sut)["relays"].type == json_value::kind::array);
}

CAF_TEST(strings keep escapes and characters beyond ascii) {
  auto sut = parse_json(R"(["a\"b\\c\n", "\u00e9\u4e2d", "\ud83d\ude00"])");
  CAF_REQUIRE(sut);
  CAF_REQUIRE_EQUAL(sut->array.size(), 3u);
  CAF_CHECK_EQUAL(sut->array[0].string, "a\"b\\c\n");
  CAF_CHECK_EQUAL(sut->array[1].string, "\xc3\xa9\xe4\xb8\xad");
  CAF_CHECK_EQUAL(sut->array[2].string, "\xf0\x9f\x98\x80");
}

CAF_TEST(numbers) {
  auto sut = parse_json("[-3, 1.5, 1e3, 18446744073709551615]");
  CAF_REQUIRE(sut);
  CAF_CHECK_EQUAL(sut->array[0].text(), "-3");
  CAF_CHECK_EQUAL(sut->array[1].number, 1.5);
  CAF_CHECK_EQUAL(sut->array[2].text(), "1000");
}

CAF_TEST(malformed input is rejected) {
  for (auto bad : {"", "{", "[1,]", "{\"a\" 1}", "nan", "0x10", "[1] x", "\"open", "tru"})
    TROUPE_CHECK_MSG(!parse_json(bad), "accepted: " << bad);
}

CAF_TEST(deep nesting is rejected without exhausting the stack) {
  CAF_CHECK(parse_json(std::string(60, '[') + std::string(60, ']')));
  CAF_CHECK(!parse_json(std::string(100, '[') + std::string(100, ']')));
  CAF_CHECK(!parse_json(std::string(200000, '[') + std::string(200000, ']')));
}
