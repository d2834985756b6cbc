#include "api/routes.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "api/api.hpp"
#include "api/cache_endpoints.hpp"
#include "api/task_endpoints.hpp"
#include "support/capturing_channel.hpp"

namespace october::api {
namespace {

using http::ParamSpec;
using Kind = ParamSpec::Kind;

using testing::CapturingChannel;

// The whole route table of october-api, built as main() builds it; nothing is listening and
// Redis is never reached.
struct RoutesFixture : ::testing::Test {
  metrics::Registry registry;
  ComputePool pool{1, 1};
  ComputePool broker_pool{1, 1};
  RedisHealth redis{redis::Url::parse("redis://127.0.0.1:1/0"), std::chrono::hours(1)};
  std::atomic<bool> draining{false};
  http::Router router;
  ApiConfig config;
  std::unique_ptr<Api> api;
  std::unique_ptr<TaskEndpoints> tasks;
  std::unique_ptr<CacheEndpoints> cache;
  std::shared_ptr<CapturingChannel> channel = std::make_shared<CapturingChannel>();

  void SetUp() override {
    config.memory_max_mb = 1024;
    api = std::make_unique<Api>(config, Runtime{.registry = registry,
                                                .pool = pool,
                                                .redis = redis,
                                                .draining = draining,
                                                .open_connections = [] { return 0; },
                                                .requests_in_flight = [] { return 0.0; }});
    tasks = std::make_unique<TaskEndpoints>(config.common, broker_pool, redis, registry);
    cache = std::make_unique<CacheEndpoints>(config.common, broker_pool, redis, 65536);
    api->add_routes(router, *tasks, *cache);
  }
  void TearDown() override {
    pool.shutdown();
    broker_pool.shutdown();
  }

  const http::Route& route(const std::string& method, const std::string& path) {
    for (const auto& r : router.routes()) {
      if (r.method == method && r.path == path) return r;
    }
    throw std::runtime_error("no route " + method + " " + path);
  }

  http::Response call(const std::string& method, const std::string& target,
                      std::vector<std::pair<std::string, std::string>> headers = {}) {
    http::Request request;
    request.headers = std::move(headers);
    request.method = method;
    auto q = target.find('?');
    request.path = target.substr(0, q);
    if (q != std::string::npos) request.query = target.substr(q + 1);
    router.dispatch(request, http::Responder(channel));
    EXPECT_EQ(channel->responses.size(), 1U) << target;
    auto response = channel->responses.back();
    channel->responses.clear();
    return response;
  }
};

TEST_F(RoutesFixture, RootServesThePageToBrowsersOnly) {
  auto json = call("GET", "/", {{"Accept", "*/*"}});
  EXPECT_EQ(json.content_type, "application/json");
  EXPECT_EQ(boost::json::parse(json.body).at("service"), "october-api");
  auto page = call("GET", "/", {{"accept", "text/html,*/*;q=0.8"}});
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("background: #2f5d8a;"), std::string::npos);
}

TEST_F(RoutesFixture, ConfigsWithoutConfigDirIs404) {
  auto response = call("GET", "/configs");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(boost::json::parse(response.body).at("error"), "not_configured");
}

TEST_F(RoutesFixture, EveryGroupIsRegisteredOnceWithOpenApiLast) {
  std::map<std::string, int> seen;
  for (const auto& r : router.routes()) ++seen[r.method + " " + r.path];
  const std::vector<std::string> expected = {"POST /tasks",
                                             "GET /tasks/{id}",
                                             "GET /healthz",
                                             "GET /ready",
                                             "GET /readyz",
                                             "GET /metrics",
                                             "GET /version",
                                             "GET /",
                                             "POST /ready/enable",
                                             "POST /ready/disable",
                                             "POST /fault/enable",
                                             "POST /fault/disable",
                                             "GET /slow",
                                             "GET /delay/{seconds}",
                                             "GET /error-test",
                                             "GET /status/{code}",
                                             "GET /compute/prime",
                                             "GET /compute/fibonacci",
                                             "GET /compute/hash",
                                             "GET /burn",
                                             "GET /memory/allocate",
                                             "POST /healthz/enable",
                                             "POST /healthz/disable",
                                             "GET /fault",
                                             "POST /fault/random",
                                             "GET /panic",
                                             "GET /headers",
                                             "GET /env",
                                             "POST /echo",
                                             "GET /cache/{key}",
                                             "PUT /cache/{key}",
                                             "POST /cache/{key}",
                                             "DELETE /cache/{key}",
                                             "POST /store",
                                             "GET /store/{hash}",
                                             "POST /token",
                                             "POST /token/validate",
                                             "GET /configs",
                                             "POST /api/echo",
                                             "GET /chunked/{seconds}",
                                             "GET /ws/echo",
                                             "GET /openapi.json"};
  for (const auto& key : expected) EXPECT_EQ(seen[key], 1) << key;
  EXPECT_EQ(seen.size(), expected.size()) << "a route registered that the list above lacks";
  EXPECT_EQ(router.routes().back().path, "/openapi.json");
}

TEST_F(RoutesFixture, OnlyProbesMetricsAndSwitchesStayUpUnderFaultInjection) {
  std::vector<std::string> always;
  for (const auto& r : router.routes()) {
    if (r.always_available) always.push_back(r.method + " " + r.path);
  }
  EXPECT_EQ(always, (std::vector<std::string>{
                        "GET /healthz", "GET /ready", "GET /readyz", "GET /metrics",
                        "POST /ready/disable", "POST /fault/disable", "POST /ready/enable",
                        "POST /fault/enable", "POST /healthz/disable", "POST /healthz/enable",
                        "GET /fault", "POST /fault/random", "GET /panic"}));
}

TEST_F(RoutesFixture, DocumentedErrorStatuses) {
  EXPECT_EQ(route("POST", "/tasks").error_statuses, (std::vector<int>{400, 503}));
  EXPECT_EQ(route("GET", "/healthz").error_statuses, std::vector<int>{500});
  EXPECT_EQ(route("GET", "/error-test").error_statuses, std::vector<int>{500});
  for (const char* path : {"/ready", "/readyz", "/tasks/{id}", "/compute/prime",
                           "/compute/fibonacci", "/compute/hash", "/burn", "/memory/allocate"}) {
    EXPECT_EQ(route("GET", path).error_statuses, std::vector<int>{503}) << path;
  }
  EXPECT_TRUE(route("GET", "/status/{code}").error_statuses.empty());
}

// name, kind, min, max, default ("" for none), in_path
struct Expected {
  std::string name;
  Kind kind;
  double min;
  double max;
  std::string fallback;
  bool in_path;
};

void expect_params(const http::Route& route, const std::vector<Expected>& expected) {
  ASSERT_EQ(route.params.size(), expected.size()) << route.path;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const ParamSpec& spec = route.params[i];
    const Expected& want = expected[i];
    SCOPED_TRACE(route.path + " " + want.name);
    EXPECT_EQ(spec.name, want.name);
    EXPECT_EQ(spec.kind, want.kind);
    EXPECT_EQ(spec.min, want.min);
    EXPECT_EQ(spec.max, want.max);
    EXPECT_EQ(spec.default_value.value_or(""), want.fallback);
    EXPECT_EQ(spec.default_value.has_value(), !want.in_path);
    EXPECT_EQ(spec.in_path, want.in_path);
    EXPECT_FALSE(spec.description.empty());
  }
}

TEST_F(RoutesFixture, ParameterSpecs) {
  expect_params(route("GET", "/compute/prime"), {{"n", Kind::integer, 1, 1e9, "1000", false}});
  expect_params(route("GET", "/compute/fibonacci"),
                {{"n", Kind::integer, 0, 92, "10", false},
                 {"method", Kind::choice, 0, 0, "iterative", false}});
  EXPECT_EQ(route("GET", "/compute/fibonacci").params[1].choices,
            (std::vector<std::string>{"iterative", "recursive"}));
  expect_params(route("GET", "/compute/hash"),
                {{"iterations", Kind::integer, 1, 1e6, "1000", false},
                 {"data_size_kb", Kind::integer, 1, 10000, "1", false}});
  expect_params(route("GET", "/burn"), {{"seconds", Kind::number, 0.1, 60, "1", false}});
  expect_params(route("GET", "/slow"), {{"delay", Kind::number, 0.1, 30, "1", false}});
  expect_params(route("GET", "/delay/{seconds}"), {{"seconds", Kind::number, 0, 30, "", true}});
  expect_params(route("GET", "/status/{code}"), {{"code", Kind::integer, 200, 599, "", true}});
  expect_params(route("GET", "/memory/allocate"),
                {{"size_mb", Kind::integer, 1, 2000, "100", false},
                 {"duration_seconds", Kind::number, 0, 300, "5", false}});
  expect_params(route("GET", "/tasks/{id}"), {{"id", Kind::identifier, 1, 64, "", true}});
  for (const char* path : {"/healthz", "/ready", "/metrics", "/version", "/", "/error-test"}) {
    EXPECT_TRUE(route("GET", path).params.empty()) << path;
  }
  EXPECT_FALSE(route("POST", "/tasks").request_schema.empty());
}

TEST_F(RoutesFixture, SubmissionSchemaCarriesTheParserLimits) {
  auto schema = boost::json::parse(route("POST", "/tasks").request_schema).as_object();
  const auto& properties = schema.at("properties").as_object();
  EXPECT_EQ(properties.at("countdown").at("maximum"), 86400);
  EXPECT_EQ(properties.at("expires").at("maximum"), 31536000);
  EXPECT_EQ(properties.at("priority").at("maximum"), 9);
  EXPECT_EQ(properties.at("queue").at("pattern"), "^[A-Za-z0-9._:-]{1,128}$");
}

TEST_F(RoutesFixture, MemoryCapIsTheSmallerOfTheSpecAndMemoryMaxMb) {
  auto over_spec = call("GET", "/memory/allocate?size_mb=2001");
  EXPECT_EQ(over_spec.status, 400);
  EXPECT_NE(over_spec.body.find("between 1 and 2000"), std::string::npos) << over_spec.body;
  auto over_config = call("GET", "/memory/allocate?size_mb=1500");
  EXPECT_EQ(over_config.status, 400);
  EXPECT_NE(over_config.body.find("between 1 and 1024 (MEMORY_MAX_MB)"), std::string::npos)
      << over_config.body;
}

TEST_F(RoutesFixture, FaultInjectionFailsAllButTheAlwaysAvailableRoutes) {
  EXPECT_EQ(call("GET", "/version").status, 200);
  EXPECT_EQ(call("POST", "/fault/enable").body, R"({"fault_injection":true})");
  auto refused = call("GET", "/version");
  EXPECT_EQ(refused.status, 500);
  EXPECT_NE(refused.body.find("fault_injected"), std::string::npos);
  EXPECT_EQ(call("GET", "/healthz").status, 200);
  EXPECT_EQ(call("POST", "/fault/disable").body, R"({"fault_injection":false})");
  EXPECT_EQ(call("GET", "/status/418").status, 418);
}

TEST_F(RoutesFixture, ChunkedWritesOneLinePerInterval) {
  // Without a socket the stream is collected into one response (Responder::stream's fallback)
  // and the capturing channel runs each timer at once.
  auto response = call("GET", "/chunked/2?interval=0.5");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.content_type, "application/x-ndjson");
  std::vector<std::string> lines;
  for (std::size_t start = 0, end; (end = response.body.find('\n', start)) != std::string::npos;
       start = end + 1) {
    lines.push_back(response.body.substr(start, end - start));
  }
  ASSERT_EQ(lines.size(), 4U) << response.body;
  auto last = boost::json::parse(lines.back()).as_object();
  EXPECT_EQ(last.at("chunk").as_int64(), 4);
  EXPECT_EQ(last.at("of").as_int64(), 4);
  EXPECT_EQ(call("GET", "/chunked/61").status, 400);
  EXPECT_EQ(call("GET", "/chunked/1?interval=0.05").status, 400);
}

TEST_F(RoutesFixture, WebSocketEchoWantsAnUpgrade) {
  auto refused = call("GET", "/ws/echo");
  EXPECT_EQ(refused.status, 426);
  EXPECT_NE(refused.body.find("upgrade_required"), std::string::npos);
}

TEST_F(RoutesFixture, ReadinessSwitch) {
  EXPECT_EQ(call("POST", "/ready/disable").body, R"({"ready_enabled":false})");
  auto ready = call("GET", "/ready");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("readiness disabled by POST /ready/disable"), std::string::npos)
      << ready.body;
  EXPECT_EQ(call("POST", "/ready/enable").body, R"({"ready_enabled":true})");
}

TEST_F(RoutesFixture, LivenessSwitch) {
  EXPECT_EQ(call("POST", "/healthz/disable").body, R"({"healthz_enabled":false})");
  auto unhealthy = call("GET", "/healthz");
  EXPECT_EQ(unhealthy.status, 500);
  EXPECT_NE(unhealthy.body.find("POST /healthz/enable"), std::string::npos) << unhealthy.body;
  EXPECT_EQ(call("GET", "/ready").status, 503);  // Redis is unreachable here, not the switch
  EXPECT_EQ(call("POST", "/healthz/enable").body, R"({"healthz_enabled":true})");
  EXPECT_EQ(call("GET", "/healthz").status, 200);
}

TEST_F(RoutesFixture, RandomFaultsSkipProbesMetricsSwitchesVersionAndOpenApi) {
  EXPECT_EQ(call("POST", "/fault/random?error_percent=100").status, 200);
  for (const char* path : {"/healthz", "/metrics", "/version", "/openapi.json", "/fault"}) {
    EXPECT_EQ(call("GET", path).status, 200) << path;
  }
  for (const char* path : {"/status/200", "/", "/headers", "/env"}) {
    auto failed = call("GET", path);
    EXPECT_EQ(failed.status, 500) << path;
    EXPECT_NE(failed.body.find("random_error_injected"), std::string::npos) << failed.body;
  }
  auto off = boost::json::parse(call("POST", "/fault/random").body).at("random");
  EXPECT_EQ(off.at("error_percent").to_number<double>(), 0.0);
  EXPECT_EQ(off.at("delay_max_ms"), 0);
  EXPECT_EQ(off.at("errors_injected"), 4);
  EXPECT_EQ(off.at("delays_injected"), 0);
  EXPECT_EQ(call("GET", "/status/200").status, 200);
}

TEST_F(RoutesFixture, RandomFaultParametersNameTheFieldAndRange) {
  auto percent = call("POST", "/fault/random?error_percent=101");
  EXPECT_EQ(percent.status, 400);
  EXPECT_NE(percent.body.find("error_percent must be a number between 0 and 100"),
            std::string::npos)
      << percent.body;
  auto order = call("POST", "/fault/random?delay_min_ms=50&delay_max_ms=10");
  EXPECT_EQ(order.status, 400);
  EXPECT_NE(order.body.find("delay_max_ms must be an integer between delay_min_ms (50) and 60000"),
            std::string::npos)
      << order.body;
  auto too_long = call("POST", "/fault/random?delay_max_ms=60001");
  EXPECT_EQ(too_long.status, 400);
  EXPECT_NE(too_long.body.find("delay_max_ms must be an integer between 0 and 60000"),
            std::string::npos)
      << too_long.body;
}

TEST_F(RoutesFixture, PanicIsRefusedUnlessEnabled) {
  auto refused = call("GET", "/panic");
  EXPECT_EQ(refused.status, 403);
  EXPECT_NE(refused.body.find("ENABLE_PANIC"), std::string::npos) << refused.body;
}

TEST_F(RoutesFixture, EchoAnswersTheBodyWithItsContentType) {
  http::Request request;
  request.method = "POST";
  request.path = "/echo";
  request.body = "a,b\n1,2\n";
  request.content_type = "text/csv";
  router.dispatch(request, http::Responder(channel));
  ASSERT_EQ(channel->responses.size(), 1U);
  EXPECT_EQ(channel->responses[0].status, 200);
  EXPECT_EQ(channel->responses[0].content_type, "text/csv");
  EXPECT_EQ(channel->responses[0].body, "a,b\n1,2\n");
}

TEST_F(RoutesFixture, CacheStoreAndTokenInputsAreCheckedFirst) {
  auto bad_key = call("GET", "/cache/a%2Fb");
  EXPECT_EQ(bad_key.status, 400);
  EXPECT_NE(bad_key.body.find("key must be 1 to 200 characters"), std::string::npos)
      << bad_key.body;
  auto bad_ttl = call("PUT", "/cache/k?ttl=2592001");
  EXPECT_EQ(bad_ttl.status, 400);
  EXPECT_NE(bad_ttl.body.find("ttl must be an integer between 0 and 2592000"), std::string::npos)
      << bad_ttl.body;
  // Redis is never reached here: the cached check says it is down.
  auto down = call("GET", "/cache/k");
  EXPECT_EQ(down.status, 503);
  auto upper = call("GET", "/store/" + std::string(64, 'A'));
  EXPECT_EQ(upper.status, 400);
  EXPECT_NE(upper.body.find("hash must be 64 lowercase hex digits"), std::string::npos)
      << upper.body;
  EXPECT_EQ(call("GET", "/store/..%2F..%2Fetc%2Fpasswd").status, 400);
  // DATA_DIR and JWT_SECRET are unset in this fixture.
  auto no_dir = call("GET", "/store/" + std::string(64, 'a'));
  EXPECT_EQ(no_dir.status, 503);
  EXPECT_NE(no_dir.body.find("DATA_DIR is not set"), std::string::npos) << no_dir.body;
  EXPECT_EQ(call("POST", "/store").status, 503);
  EXPECT_EQ(call("POST", "/token").status, 503);
  EXPECT_EQ(call("POST", "/token/validate").status, 503);
}

}  // namespace
}  // namespace october::api
