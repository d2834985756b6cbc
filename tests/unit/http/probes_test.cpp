// The probe routes both binaries register through add_probe_routes.
#include "http/probes.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/capturing_channel.hpp"

namespace october::http {
namespace {

using testing::CapturingChannel;

struct ProbesFixture : ::testing::Test {
  metrics::Registry registry;
  Router router;
  std::string not_ready;
  std::string unhealthy;

  Response call(std::string path) {
    auto channel = std::make_shared<CapturingChannel>();
    Request request;
    request.method = "GET";
    request.path = std::move(path);
    router.dispatch(request, Responder(channel));
    EXPECT_EQ(channel->responses.size(), 1U);
    return channel->responses.back();
  }

  const Route& route(std::string_view path) const {
    for (const auto& r : router.routes()) {
      if (r.path == path) return r;
    }
    throw std::logic_error("no route " + std::string(path));
  }
};

TEST_F(ProbesFixture, ReadinessAnswersTheReasonOfTheMoment) {
  add_probe_routes(router,
                   {.registry = registry, .not_ready_reason = [this] { return not_ready; }});
  for (const char* path : {"/ready", "/readyz"}) {
    not_ready.clear();
    auto ready = call(path);
    EXPECT_EQ(ready.status, 200);
    EXPECT_EQ(ready.body, R"({"ready":true})");
    not_ready = "shutting down";
    auto draining = call(path);
    EXPECT_EQ(draining.status, 503);
    EXPECT_EQ(
        boost::json::parse(draining.body),
        boost::json::parse(R"({"ready":false,"error":"not_ready","detail":"shutting down"})"));
  }
}

TEST_F(ProbesFixture, LivenessCannotFailUnlessAskedTo) {
  add_probe_routes(router, {.registry = registry, .not_ready_reason = [] { return ""; }});
  auto response = call("/healthz");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, R"({"status":"ok"})");
  EXPECT_TRUE(route("/healthz").error_statuses.empty());
}

TEST_F(ProbesFixture, LivenessFailsWithTheGivenReason) {
  add_probe_routes(router, {.registry = registry,
                            .not_ready_reason = [] { return ""; },
                            .liveness_failure = [this] { return unhealthy; }});
  EXPECT_EQ(call("/healthz").status, 200);
  unhealthy = "on purpose";
  auto response = call("/healthz");
  EXPECT_EQ(response.status, 500);
  auto body = boost::json::parse(response.body).as_object();
  EXPECT_EQ(body.at("error"), "unhealthy");
  EXPECT_EQ(body.at("detail"), "on purpose");
  EXPECT_EQ(route("/healthz").error_statuses, std::vector<int>{500});
}

TEST_F(ProbesFixture, ProbesStayUpUnderFaultInjectionAndMetricsAreText) {
  add_probe_routes(router, {.registry = registry, .not_ready_reason = [] { return ""; }});
  std::vector<std::string> paths;
  for (const auto& r : router.routes()) {
    paths.push_back(r.path);
    EXPECT_TRUE(r.always_available) << r.path;
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"/healthz", "/ready", "/readyz", "/metrics"}));
  registry.counter("probe_test_total", "A counter.", {});
  auto metrics = call("/metrics");
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(metrics.body.find("probe_test_total"), std::string::npos) << metrics.body;
}

}  // namespace
}  // namespace october::http
