#include "api/random_faults.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "support/capturing_channel.hpp"

namespace october::api {
namespace {

TEST(RandomFaults, ParsesDelayRanges) {
  EXPECT_EQ(parse_delay_range(""), (DelayRange{0, 0}));
  EXPECT_EQ(parse_delay_range("100-500"), (DelayRange{100, 500}));
  EXPECT_EQ(parse_delay_range("250"), (DelayRange{250, 250}));
  EXPECT_EQ(parse_delay_range("0-60000"), (DelayRange{0, 60000}));
  for (const char* bad :
       {"500-100", "-5", "1-", "-", "a-b", "1-2-3", "60001", "0-60001", " 1-2", "1.5-2"}) {
    EXPECT_THROW(parse_delay_range(bad), std::invalid_argument) << bad;
  }
  try {
    parse_delay_range("0-70000");
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("between 0 and 60000"), std::string::npos) << e.what();
  }
}

TEST(RandomFaults, SettingsReadBackWhole) {
  RandomFaults faults;
  EXPECT_EQ(faults.delay(), (DelayRange{0, 0}));
  faults.set({60000, 60000}, 12.5);
  EXPECT_EQ(faults.delay(), (DelayRange{60000, 60000}));
  EXPECT_EQ(faults.error_percent(), 12.5);
}

TEST(RandomFaults, DrawsStayInTheRangeAndTheShare) {
  RandomFaults faults;
  std::mt19937_64 rng(7);
  faults.set({100, 500}, 25);
  int errors = 0;
  bool saw_low = false;
  bool saw_high = false;
  for (int i = 0; i < 10000; ++i) {
    auto draw = faults.draw(rng);
    ASSERT_GE(draw.delay.count(), 100);
    ASSERT_LE(draw.delay.count(), 500);
    saw_low = saw_low || draw.delay.count() < 150;
    saw_high = saw_high || draw.delay.count() > 450;
    errors += draw.error ? 1 : 0;
  }
  EXPECT_TRUE(saw_low && saw_high);
  EXPECT_GT(errors, 2250);  // 25% of 10000, well beyond 5 standard deviations (43) either way
  EXPECT_LT(errors, 2750);
  faults.set({}, 0);
  for (int i = 0; i < 1000; ++i) {
    auto draw = faults.draw(rng);
    ASSERT_EQ(draw.delay.count(), 0);
    ASSERT_FALSE(draw.error);
  }
  faults.set({}, 100);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(faults.draw(rng).error);
}

TEST(RandomFaults, CountsWhatWasInjected) {
  RandomFaults faults;
  faults.count({.delay = std::chrono::milliseconds(5), .error = true});
  faults.count({.delay = std::chrono::milliseconds(0), .error = false});
  faults.count({.delay = std::chrono::milliseconds(1), .error = false});
  EXPECT_EQ(faults.delays_injected(), 2U);
  EXPECT_EQ(faults.errors_injected(), 1U);
}

http::Route answering(std::string path, bool always_available = false) {
  return {.method = "GET",
          .path = std::move(path),
          .always_available = always_available,
          .handler = [](http::Request& request, const http::Params&, const http::Responder& out) {
            http::Response response;
            response.body = request.body;
            out.send(std::move(response));
          }};
}

TEST(RandomFaults, AppliesToAppRoutesOnly) {
  EXPECT_TRUE(random_faults_apply(answering("/compute/prime")));
  EXPECT_TRUE(random_faults_apply(answering("/")));
  EXPECT_FALSE(random_faults_apply(answering("/healthz", true)));
  EXPECT_FALSE(random_faults_apply(answering("/version")));
  EXPECT_FALSE(random_faults_apply(answering("/openapi.json")));
}

TEST(RandomFaults, WrappedHandlerFailsOrAnswersAfterTheDelay) {
  RandomFaults faults;
  auto channel = std::make_shared<testing::CapturingChannel>();
  const http::Route wrapped = with_random_faults(answering("/app"), faults);
  const http::Route exempt = with_random_faults(answering("/healthz", true), faults);
  http::Request request;
  request.body = "kept";
  http::Params params;
  faults.set({1, 1}, 0);
  wrapped.handler(request, params, http::Responder(channel));
  ASSERT_EQ(channel->responses.size(), 1U);
  EXPECT_EQ(channel->responses[0].body, "kept");  // the handler saw the request after the delay
  faults.set({}, 100);
  wrapped.handler(request, params, http::Responder(channel));
  exempt.handler(request, params, http::Responder(channel));
  ASSERT_EQ(channel->responses.size(), 3U);
  EXPECT_EQ(channel->responses[1].status, 500);
  EXPECT_NE(channel->responses[1].body.find("random_error_injected"), std::string::npos);
  EXPECT_EQ(channel->responses[2].status, 200);
  EXPECT_EQ(faults.delays_injected(), 1U);
  EXPECT_EQ(faults.errors_injected(), 1U);
}

}  // namespace
}  // namespace october::api
