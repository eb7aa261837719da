#define CAF_SUITE runtime.duration

#include "troupe/duration.hpp"

#include "troupe_test.hpp"

using namespace std::chrono_literals;
using troupe::parse_duration;
using troupe::timespan;

CAF_TEST(durations with units parse) {
  CAF_CHECK_EQUAL(parse_duration("10s"), timespan{10s});
  CAF_CHECK_EQUAL(parse_duration("250ms"), timespan{250ms});
  CAF_CHECK_EQUAL(parse_duration("1.5s"), timespan{1500ms});
  CAF_CHECK_EQUAL(parse_duration("2min"), timespan{120s});
  CAF_CHECK_EQUAL(parse_duration("1h"), timespan{3600s});
  CAF_CHECK_EQUAL(parse_duration("500us"), timespan{500us});
  CAF_CHECK_EQUAL(parse_duration("7ns"), timespan{7});
  CAF_CHECK_EQUAL(parse_duration("0s"), timespan{0});
}

CAF_TEST(malformed durations are rejected) {
  for (auto text :
       {"", "10", "s", "10 s", "-1s", "1.2.3s", "10sec", "1e3s", ".s", "abc", "99999999999h"})
    TROUPE_CHECK_MSG(!parse_duration(text), "accepted \"" << text << "\"");
}

CAF_TEST(durations render with the largest exact unit) {
  CAF_CHECK_EQUAL(troupe::to_string_duration(timespan{10s}), "10s");
  CAF_CHECK_EQUAL(troupe::to_string_duration(timespan{1500ms}), "1500ms");
  CAF_CHECK_EQUAL(troupe::to_string_duration(timespan{0}), "0s");
  CAF_CHECK_EQUAL(troupe::to_string_duration(timespan{120s}), "2min");
}
