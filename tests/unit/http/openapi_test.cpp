#include "http/openapi.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "http/router.hpp"

namespace october::http {
namespace {

namespace json = boost::json;

void ignore(Request&, const Params&, const Responder&) {}

// The document of a router holding one route per parameter kind, plus a body and error statuses.
json::object document(const std::string& prefix = {}) {
  Router router;
  router.set_prefix(prefix);
  router.add({.method = "GET", .path = "/healthz", .summary = "liveness", .handler = ignore});
  router.add({.method = "POST", .path = "/healthz", .summary = "poke", .handler = ignore});
  router.add({.method = "GET",
              .path = "/status/{code}",
              .summary = "status",
              .params = {{.name = "code",
                          .kind = ParamSpec::Kind::integer,
                          .min = 200,
                          .max = 599,
                          .in_path = true,
                          .description = "the status to answer"}},
              .handler = ignore});
  router.add({.method = "GET",
              .path = "/delay",
              .summary = "slow",
              .params = {{.name = "seconds",
                          .kind = ParamSpec::Kind::number,
                          .min = 0,
                          .max = 30,
                          .default_value = "0.5"},
                         {.name = "mode",
                          .kind = ParamSpec::Kind::choice,
                          .default_value = "sleep",
                          .choices = {"sleep", "spin"}},
                         {.name = "id", .kind = ParamSpec::Kind::identifier, .min = 1, .max = 64}},
              .error_statuses = {503},
              .handler = ignore});
  router.add({.method = "POST",
              .path = "/tasks",
              .summary = "submit",
              .error_statuses = {503},
              .request_schema = R"({"type":"object","required":["task"]})",
              .handler = ignore});
  return json::parse(openapi_document(router, "october-test", "9.9.9")).as_object();
}

const json::object& operation(const json::object& doc, const char* path, const char* method) {
  return doc.at("paths").at(path).at(method).as_object();
}

const json::object& parameter(const json::object& op, std::size_t index) {
  return op.at("parameters").as_array().at(index).as_object();
}

TEST(OpenApi, NamesTheDocumentAndEveryMethodOfAPath) {
  auto doc = document();
  EXPECT_EQ(doc.at("openapi").as_string(), "3.0.3");
  EXPECT_EQ(doc.at("info").at("title").as_string(), "october-test");
  EXPECT_EQ(doc.at("info").at("version").as_string(), "9.9.9");
  EXPECT_EQ(operation(doc, "/healthz", "get").at("summary").as_string(), "liveness");
  EXPECT_EQ(operation(doc, "/healthz", "post").at("summary").as_string(), "poke");
  EXPECT_FALSE(operation(doc, "/healthz", "get").contains("parameters"));
}

TEST(OpenApi, PathPrefixIsTheServerAndPathsStayTheTemplates) {
  EXPECT_FALSE(document().contains("servers"));
  auto doc = document("/october");
  EXPECT_EQ(doc.at("servers"),
            (json::array{json::object{{"url", "/october"},
                                      {"description", "this service under PATH_PREFIX"}}}));
  EXPECT_TRUE(doc.at("paths").as_object().contains("/status/{code}"));
  EXPECT_FALSE(doc.at("paths").as_object().contains("/october/status/{code}"));
}

TEST(OpenApi, PathParameterIsRequiredWithItsRange) {
  auto code = parameter(operation(document(), "/status/{code}", "get"), 0);
  EXPECT_EQ(code.at("in").as_string(), "path");
  EXPECT_TRUE(code.at("required").as_bool());
  EXPECT_EQ(code.at("description").as_string(), "the status to answer");
  EXPECT_EQ(code.at("schema").at("type").as_string(), "integer");
  EXPECT_EQ(code.at("schema").at("minimum").to_number<double>(), 200);
  EXPECT_EQ(code.at("schema").at("maximum").to_number<double>(), 599);
}

TEST(OpenApi, EachParameterKindHasItsSchemaAndDefault) {
  auto op = operation(document(), "/delay", "get");
  auto seconds = parameter(op, 0);
  EXPECT_EQ(seconds.at("in").as_string(), "query");
  EXPECT_FALSE(seconds.at("required").as_bool());
  EXPECT_EQ(seconds.at("schema").at("type").as_string(), "number");
  EXPECT_EQ(seconds.at("schema").at("default").to_number<double>(), 0.5);

  auto mode = parameter(op, 1);
  EXPECT_EQ(mode.at("schema").at("enum"), (json::array{"sleep", "spin"}));
  EXPECT_EQ(mode.at("schema").at("default").as_string(), "sleep");

  auto id = parameter(op, 2);
  EXPECT_TRUE(id.at("required").as_bool());
  EXPECT_EQ(id.at("schema").at("pattern").as_string(), "^[A-Za-z0-9_-]+$");
  EXPECT_EQ(id.at("schema").at("maxLength").to_number<double>(), 64);
}

TEST(OpenApi, ErrorStatusesAndInvalidParametersShareTheErrorSchema) {
  auto doc = document();
  auto responses = operation(doc, "/delay", "get").at("responses").as_object();
  for (const char* status : {"200", "400", "503"})
    EXPECT_TRUE(responses.contains(status)) << status;
  EXPECT_EQ(responses.at("503").at("content").at("application/json").at("schema").at("$ref"),
            "#/components/schemas/Error");
  // A route without parameters cannot answer 400 for one.
  EXPECT_FALSE(operation(doc, "/healthz", "get").at("responses").as_object().contains("400"));
  auto error = doc.at("components").at("schemas").at("Error").as_object();
  EXPECT_EQ(error.at("required"), (json::array{"error", "detail"}));
}

TEST(OpenApi, RequestBodySchemaIsEmbeddedAsJson) {
  auto body = operation(document(), "/tasks", "post").at("requestBody").as_object();
  EXPECT_TRUE(body.at("required").as_bool());
  auto schema = body.at("content").at("application/json").at("schema").as_object();
  EXPECT_EQ(schema.at("type").as_string(), "object");
  EXPECT_EQ(schema.at("required"), (json::array{"task"}));
}

}  // namespace
}  // namespace october::http
