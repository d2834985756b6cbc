#include "core/parse.hpp"

#include <gtest/gtest.h>

namespace october {
namespace {

TEST(ParseInt, AcceptsWholeIntegersOnly) {
  EXPECT_EQ(parse_int("42"), 42);
  EXPECT_EQ(parse_int("-7"), -7);
  EXPECT_EQ(parse_int("+7"), 7);
  EXPECT_FALSE(parse_int(""));
  EXPECT_FALSE(parse_int("abc"));
  EXPECT_FALSE(parse_int("12abc"));
  EXPECT_FALSE(parse_int("1.5"));
  EXPECT_FALSE(parse_int(" 1"));
  EXPECT_FALSE(parse_int("99999999999999999999"));
}

TEST(ParseDouble, AcceptsFiniteNumbersOnly) {
  EXPECT_DOUBLE_EQ(*parse_double("0.5"), 0.5);
  EXPECT_DOUBLE_EQ(*parse_double("3"), 3.0);
  EXPECT_DOUBLE_EQ(*parse_double("1e2"), 100.0);
  EXPECT_FALSE(parse_double("nan"));
  EXPECT_FALSE(parse_double("inf"));
  EXPECT_FALSE(parse_double("1e999"));
  EXPECT_FALSE(parse_double("0.5s"));
  EXPECT_FALSE(parse_double(""));
}

TEST(ParseBool, KnownSpellings) {
  EXPECT_EQ(parse_bool("true"), true);
  EXPECT_EQ(parse_bool("1"), true);
  EXPECT_EQ(parse_bool("false"), false);
  EXPECT_EQ(parse_bool("0"), false);
  EXPECT_FALSE(parse_bool("maybe"));
}

TEST(FormatDouble, WholeNumbersWithoutExponent) {
  EXPECT_EQ(format_double(1e9), "1000000000");
  EXPECT_EQ(format_double(0.1), "0.1");
  EXPECT_EQ(format_double(0.005), "0.005");
  EXPECT_EQ(format_double(-3), "-3");
}

}  // namespace
}  // namespace october

#include <boost/json.hpp>

#include "core/json_text.hpp"

namespace october {
namespace {

TEST(JsonText, ReadableDoublesAndSameStructure) {
  boost::json::value v = {{"a", 0.2},    {"b", 5.0}, {"c", 1e-7},
                          {"s", "q\"x"}, {"n", 7},   {"l", boost::json::array{1, true, nullptr}}};
  EXPECT_EQ(to_json(v), R"({"a":0.2,"b":5.0,"c":1e-07,"s":"q\"x","n":7,"l":[1,true,null]})");
  EXPECT_EQ(boost::json::parse(to_json(v)), v);
}

}  // namespace
}  // namespace october
