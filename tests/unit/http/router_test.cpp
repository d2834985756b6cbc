#include "http/router.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/capturing_channel.hpp"

namespace october::http {
namespace {

using testing::CapturingChannel;

struct RouterFixture : ::testing::Test {
  Router router;
  std::shared_ptr<CapturingChannel> channel = std::make_shared<CapturingChannel>();
  std::string last_route;
  std::vector<std::string> last_path_params;

  void SetUp() override {
    auto record = [this](Request& request, const Params&, const Responder& out) {
      last_route = std::string(request.route);
      last_path_params = request.path_params;
      out.send(Response{});
    };
    router.add({.method = "GET", .path = "/healthz", .summary = "h", .handler = record});
    router.add({.method = "POST", .path = "/healthz", .summary = "h", .handler = record});
    router.add({.method = "GET",
                .path = "/status/{code}",
                .summary = "s",
                .params = {{.name = "code",
                            .kind = ParamSpec::Kind::integer,
                            .min = 200,
                            .max = 599,
                            .in_path = true}},
                .handler = record});
    router.add({.method = "GET",
                .path = "/compute/prime",
                .summary = "p",
                .params = {{.name = "n",
                            .kind = ParamSpec::Kind::integer,
                            .min = 1,
                            .max = 1e9,
                            .default_value = "1000"}},
                .handler = [this](Request& request, const Params& params, const Responder& out) {
                  last_route = std::string(request.route);
                  Response response;
                  response.body = std::to_string(params.integer("n"));
                  out.send(response);
                }});
  }

  Response call(std::string method, std::string target) {
    Request request;
    request.method = std::move(method);
    auto q = target.find('?');
    request.path = target.substr(0, q);
    if (q != std::string::npos) request.query = target.substr(q + 1);
    router.dispatch(request, Responder(channel));
    last_route = std::string(request.route);
    EXPECT_EQ(channel->responses.size(), 1U);
    auto response = channel->responses.back();
    channel->responses.clear();
    return response;
  }

  static std::string detail(const Response& response) {
    auto body = boost::json::parse(response.body).as_object();
    EXPECT_EQ(body.size(), 2U);
    return std::string(body.at("detail").as_string());
  }
};

TEST_F(RouterFixture, ExactAndTemplatedRoutes) {
  EXPECT_EQ(call("GET", "/healthz").status, 200);
  EXPECT_EQ(last_route, "/healthz");
  EXPECT_EQ(call("GET", "/status/418").status, 200);
  EXPECT_EQ(last_route, "/status/{code}");
  EXPECT_EQ(last_path_params, std::vector<std::string>{"418"});
}

TEST_F(RouterFixture, UnknownPathIs404Unmatched) {
  auto response = call("GET", "/nope");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(last_route, "unmatched");
  EXPECT_NE(detail(response).find("/nope"), std::string::npos);
  EXPECT_EQ(call("GET", "/status/1/2").status, 404);
  EXPECT_EQ(call("GET", "/status/").status, 404);
}

TEST_F(RouterFixture, WrongMethodIs405WithAllow) {
  auto response = call("DELETE", "/healthz");
  EXPECT_EQ(response.status, 405);
  ASSERT_EQ(response.headers.size(), 1U);
  EXPECT_EQ(response.headers[0].first, "Allow");
  EXPECT_EQ(response.headers[0].second, "GET, POST");
  EXPECT_EQ(last_route, "/healthz");
}

TEST_F(RouterFixture, QueryParametersValidated) {
  EXPECT_EQ(call("GET", "/compute/prime").body, "1000");
  EXPECT_EQ(call("GET", "/compute/prime?n=5").body, "5");
  EXPECT_EQ(call("GET", "/compute/prime?x=1&n=%37").body, "7");
  for (const char* bad :
       {"/compute/prime?n=abc", "/compute/prime?n=0", "/compute/prime?n=1000000001",
        "/compute/prime?n=1.5", "/compute/prime?n="}) {
    auto response = call("GET", bad);
    EXPECT_EQ(response.status, 400) << bad;
    EXPECT_EQ(detail(response).rfind("n must be an integer between 1 and 1000000000", 0), 0U)
        << detail(response);
  }
  auto response = call("GET", "/status/99");
  EXPECT_EQ(response.status, 400);
  EXPECT_NE(detail(response).find("code must be an integer between 200 and 599"),
            std::string::npos);
}

TEST_F(RouterFixture, GuardCanRefuse) {
  router.set_guard([](const Route& route, const Request&) -> std::optional<Response> {
    if (route.path == "/healthz") return std::nullopt;
    return json_error(500, "fault_injected", "x");
  });
  EXPECT_EQ(call("GET", "/healthz").status, 200);
  EXPECT_EQ(call("GET", "/compute/prime").status, 500);
}

TEST_F(RouterFixture, PrefixServesEveryRouteUnderItWithTheSameLabel) {
  router.set_prefix("/october/v1");
  EXPECT_EQ(call("GET", "/october/v1/healthz").status, 200);
  EXPECT_EQ(last_route, "/healthz");
  EXPECT_EQ(call("GET", "/october/v1/status/418").status, 200);
  EXPECT_EQ(last_route, "/status/{code}");
  EXPECT_EQ(last_path_params, std::vector<std::string>{"418"});
  EXPECT_EQ(call("GET", "/october/v1/compute/prime?n=5").body, "5");
  EXPECT_EQ(call("DELETE", "/october/v1/healthz").status, 405);
  EXPECT_EQ(call("GET", "/october/v1/status/99").status, 400);
  // Unprefixed paths still work (an ingress that rewrites, a probe straight to the pod).
  EXPECT_EQ(call("GET", "/healthz").status, 200);
  // A prefix is whole segments: "/october/v1x" is not under "/october/v1".
  EXPECT_EQ(call("GET", "/october/v1x/healthz").status, 404);
  EXPECT_EQ(call("GET", "/october/healthz").status, 404);
  EXPECT_EQ(call("GET", "/october/v1/nope").status, 404);
}

TEST_F(RouterFixture, PrefixItselfIsTheRoot) {
  router.add({.method = "GET",
              .path = "/",
              .summary = "root",
              .handler = [this](Request& request, const Params&, const Responder& out) {
                last_route = std::string(request.route);
                out.send(Response{});
              }});
  router.set_prefix("/october");
  EXPECT_EQ(call("GET", "/october").status, 200);
  EXPECT_EQ(last_route, "/");
  EXPECT_EQ(call("GET", "/october/").status, 200);
  EXPECT_EQ(last_route, "/");
}

TEST(PathPrefix, ValidValues) {
  for (const char* good : {"", "/october", "/a/b-c_d.e~f", "/V1"}) {
    EXPECT_NO_THROW(check_path_prefix(good)) << good;
  }
}

TEST(PathPrefix, InvalidValuesSayWhy) {
  auto why = [](const std::string& prefix) {
    try {
      check_path_prefix(prefix);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(why("october"), "must start with '/'");
  EXPECT_EQ(why("/october/"), "must not end with '/'");
  EXPECT_EQ(why("/"), "must not end with '/'");
  EXPECT_EQ(why("/oct ober"), "may hold only letters, digits, '-', '_', '.', '~' and '/'");
  EXPECT_EQ(why("/a?b"), "may hold only letters, digits, '-', '_', '.', '~' and '/'");
  EXPECT_EQ(why("/a//b"), "must not have an empty, '.' or '..' segment");
  EXPECT_EQ(why("/a/../b"), "must not have an empty, '.' or '..' segment");
  EXPECT_EQ(why("/" + std::string(128, 'a')), "must be at most 128 characters");
  Router router;
  EXPECT_THROW(router.set_prefix("nope"), std::invalid_argument);
}

TEST(Query, DecodesPercentAndPlus) {
  auto pairs = parse_query("a=1+2&b=%41%2f&c&=x&d=%zz");
  ASSERT_EQ(pairs.size(), 5U);
  EXPECT_EQ(pairs[0], (std::pair<std::string, std::string>{"a", "1 2"}));
  EXPECT_EQ(pairs[1].second, "A/");
  EXPECT_EQ(pairs[2], (std::pair<std::string, std::string>{"c", ""}));
  EXPECT_EQ(pairs[3].first, "");
  EXPECT_EQ(pairs[4].second, "%zz");
}

}  // namespace
}  // namespace october::http
