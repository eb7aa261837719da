#define CAF_SUITE observe.state_json

#include "troupe/state_json.hpp"

#include <list>

#include "caf/deep_to_string.hpp"

#include "troupe_test.hpp"

#include "troupe/json.hpp"

using namespace std::chrono_literals;
using namespace troupe;

namespace {

struct inner {
  int32_t a = 1;
  std::string b = "x\"y";
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, inner& x) {
  return f(caf::meta::type_name("inner"), x.a, x.b);
}

struct named {
  int32_t a = 7;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, named& x) {
  return f(caf::meta::type_name("named"), field_names("a"), x.a);
}

struct outer {
  bool flag = true;
  double ratio = 0.5;
  timespan wait = 1500ms;
  std::vector<inner> items{inner{}, inner{2, "z"}};
  std::map<std::string, uint64_t> counts{{"k", 3}};
  std::optional<int> missing;
  caf::error none;
  caf::error bad = make_error(errc::unavailable, "gone");
  caf::actor nobody;
  std::list<std::pair<int, std::string>> pairs{{1, "one"}};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, outer& x) {
  return f(caf::meta::type_name("outer"),
           field_names("flag ratio wait items counts missing none bad nobody pairs"), x.flag,
           x.ratio, x.wait, x.items, x.counts, x.missing, x.none, x.bad, x.nobody, x.pairs);
}

} // namespace

CAF_TEST(named fields become an object and unnamed ones a list) {
  outer x;
  auto text = to_json_state(x);
  auto sut = parse_json(text);
  CAF_REQUIRE(sut);
  auto& v = *sut;
  CAF_CHECK_EQUAL(v["type"].text(), "outer");
  CAF_CHECK(v["flag"].boolean);
  CAF_CHECK_EQUAL(v["ratio"].number, 0.5);
  CAF_CHECK_EQUAL(v["wait"].text(), "1500ms");
  CAF_REQUIRE_EQUAL(v["items"].array.size(), 2u);
  CAF_CHECK_EQUAL(v["items"].array[1]["type"].text(), "inner");
  CAF_REQUIRE_EQUAL(v["items"].array[1]["fields"].array.size(), 2u);
  CAF_CHECK_EQUAL(v["items"].array[1]["fields"].array[0].text(), "2");
  CAF_CHECK_EQUAL(v["items"].array[0]["fields"].array[1].text(), "x\"y");
  CAF_CHECK_EQUAL(v["counts"]["k"].text(), "3");
  CAF_CHECK(v["missing"].type == json_value::kind::null);
  CAF_CHECK(v["none"].type == json_value::kind::null);
  CAF_CHECK(v["bad"].text().find("gone") != std::string::npos);
  CAF_CHECK(v["nobody"].type == json_value::kind::null);
  CAF_CHECK_EQUAL(v["pairs"].array[0].array[1].text(), "one");
}

CAF_TEST(caf inspectors skip the field names annotation) {
  named x;
  CAF_CHECK_EQUAL(caf::deep_to_string(x), "named(7)");
  CAF_CHECK_EQUAL(to_json_state(x), "{\"type\":\"named\",\"a\":7}");
}
