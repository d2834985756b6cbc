#include "api/submission.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "celery/timestamps.hpp"

namespace october::api {
namespace {

constexpr double kNow = 1700000000.0;

// The refusal parse_submission throws for `body`.
InvalidSubmission refusal(std::string_view body) {
  try {
    (void)parse_submission(body, kNow);
  } catch (const InvalidSubmission& invalid) {
    return invalid;
  }
  ADD_FAILURE() << "accepted: " << body;
  return {};
}

TEST(Submission, MinimalBodyUsesTheDefaults) {
  auto message = parse_submission(R"({"name": "ping"})", kNow);
  EXPECT_EQ(message.task, "ping");
  EXPECT_TRUE(message.args.empty());
  EXPECT_TRUE(message.kwargs.empty());
  EXPECT_FALSE(message.eta);
  EXPECT_FALSE(message.expires);
  EXPECT_EQ(message.priority, 0);
  EXPECT_EQ(message.routing_key, "celery");
}

TEST(Submission, EveryFieldIsCarriedIntoTheMessage) {
  auto message = parse_submission(R"({"name": "add", "args": [1], "kwargs": {"y": 2},
      "countdown": 60, "expires": 3600, "priority": 7, "queue": "fast.lane"})",
                                  kNow);
  EXPECT_EQ(message.task, "add");
  EXPECT_EQ(message.args, boost::json::array({1}));
  EXPECT_EQ(message.kwargs, boost::json::object({{"y", 2}}));
  EXPECT_EQ(message.eta, celery::format_iso8601(kNow + 60, true));
  EXPECT_EQ(message.expires, celery::format_iso8601(kNow + 3600, true));
  EXPECT_EQ(message.priority, 7);
  EXPECT_EQ(message.routing_key, "fast.lane");
}

TEST(Submission, NullFieldsMeanNotGiven) {
  auto message = parse_submission(
      R"({"name": "ping", "args": null, "kwargs": null, "countdown": null, "expires": null,
          "priority": null, "queue": null})",
      kNow);
  EXPECT_FALSE(message.eta);
  EXPECT_FALSE(message.expires);
  EXPECT_EQ(message.routing_key, "celery");
}

TEST(Submission, ZeroCountdownRunsAtOnce) {
  EXPECT_FALSE(parse_submission(R"({"name": "ping", "countdown": 0})", kNow).eta);
}

TEST(Submission, BodyMustBeAJsonObject) {
  EXPECT_EQ(refusal("{").code, "invalid_json");
  EXPECT_EQ(refusal("[1]").code, "invalid_body");
  auto unknown = refusal(R"({"name": "ping", "retries": 3})");
  EXPECT_EQ(unknown.code, "invalid_body");
  EXPECT_NE(unknown.detail.find("unknown field 'retries'"), std::string::npos) << unknown.detail;
}

TEST(Submission, NameMustBeARegisteredTask) {
  EXPECT_EQ(refusal("{}").code, "invalid_task");
  EXPECT_EQ(refusal(R"({"name": 3})").code, "invalid_task");
  auto unknown = refusal(R"({"name": "nope"})");
  EXPECT_EQ(unknown.code, "unknown_task");
  EXPECT_NE(unknown.detail.find("ping"), std::string::npos) << unknown.detail;
}

TEST(Submission, ArgumentsAreBoundToTheTaskSignature) {
  EXPECT_EQ(refusal(R"({"name": "add", "args": {}})").code, "invalid_arguments");
  EXPECT_EQ(refusal(R"({"name": "add", "kwargs": []})").code, "invalid_arguments");
  EXPECT_EQ(refusal(R"({"name": "add", "args": [1]})").code, "invalid_arguments");
  EXPECT_EQ(refusal(R"({"name": "prime", "args": [0]})").code, "invalid_arguments");
}

TEST(Submission, ScheduleLimits) {
  EXPECT_EQ(refusal(R"({"name": "ping", "countdown": -1})").detail,
            "countdown must be a number between 0 and 86400");
  EXPECT_EQ(refusal(R"({"name": "ping", "countdown": 86401})").code, "invalid_parameter");
  EXPECT_EQ(refusal(R"({"name": "ping", "countdown": "1"})").code, "invalid_parameter");
  EXPECT_EQ(refusal(R"({"name": "ping", "expires": 0})").detail,
            "expires must be a number of seconds between 0 (exclusive) and 31536000");
  EXPECT_EQ(refusal(R"({"name": "ping", "expires": 31536001})").code, "invalid_parameter");
  EXPECT_TRUE(
      parse_submission(R"({"name": "ping", "countdown": 86400, "expires": 0.5})", kNow).expires);
}

TEST(Submission, PriorityIsAnIntegerFrom0To9) {
  EXPECT_EQ(refusal(R"({"name": "ping", "priority": 10})").detail,
            "priority must be an integer between 0 and 9");
  EXPECT_EQ(refusal(R"({"name": "ping", "priority": -1})").code, "invalid_parameter");
  EXPECT_EQ(refusal(R"({"name": "ping", "priority": 1.5})").code, "invalid_parameter");
  EXPECT_EQ(parse_submission(R"({"name": "ping", "priority": 9})", kNow).priority, 9);
}

TEST(Submission, QueueNames) {
  const std::string too_long(129, 'q');
  for (const std::string& queue :
       {std::string(R"("")"), std::string(R"("a b")"), std::string(R"("a/b")"), std::string("1"),
        "\"" + too_long + "\""}) {
    auto invalid = refusal(R"({"name": "ping", "queue": )" + queue + "}");
    EXPECT_EQ(invalid.detail, "queue must be 1 to 128 characters of letters, digits and . _ - :")
        << queue;
  }
  const std::string longest(128, 'q');
  EXPECT_EQ(parse_submission(R"({"name": "ping", "queue": ")" + longest + "\"}", kNow).routing_key,
            longest);
  EXPECT_EQ(parse_submission(R"({"name": "ping", "queue": "A-z_0.9:x"})", kNow).routing_key,
            "A-z_0.9:x");
}

}  // namespace
}  // namespace october::api
