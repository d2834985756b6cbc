#include "worker/outcome.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <stdexcept>

#include "celery/keys.hpp"
#include "celery/timestamps.hpp"
#include "tasks/registry.hpp"

namespace october::worker {
namespace {

namespace json = boost::json;
using celery::TaskState;

celery::TaskMessage message_for(std::string task) {
  celery::TaskMessage message;
  message.task = std::move(task);
  message.id = "task-1";
  message.delivery_tag = "tag-1";
  return message;
}

std::string status_of(const celery::Broker::Completion& completion) {
  return std::string(json::parse(completion.record).at("status").as_string());
}

TEST(Outcome, AReturnedValueIsSuccess) {
  auto outcome = run_guarded("add", [] { return json::value(3); });
  EXPECT_EQ(outcome.state, TaskState::success);
  EXPECT_EQ(outcome.result, 3);
}

TEST(Outcome, ATaskErrorIsFailureWithItsPythonException) {
  auto outcome = run_guarded("fail", []() -> json::value { throw tasks::value_error("boom"); });
  EXPECT_EQ(outcome.state, TaskState::failure);
  EXPECT_EQ(outcome.exception.type, "ValueError");
  EXPECT_EQ(outcome.exception.module, "builtins");
  EXPECT_EQ(outcome.exception.args, (json::array{"boom"}));
  EXPECT_EQ(outcome.exception.traceback,
            "Traceback (most recent call last):\n  File \"october-worker\", in fail\n"
            "ValueError: boom\n");
}

TEST(Outcome, ARetryIsRetryWithItsCause) {
  auto outcome = run_guarded("fail", []() -> json::value {
    throw tasks::Retry{4, tasks::value_error("again")};
  });
  EXPECT_EQ(outcome.state, TaskState::retry);
  EXPECT_EQ(outcome.retry_countdown, 4);
  EXPECT_EQ(outcome.exception.type, "ValueError");
  EXPECT_EQ(outcome.exception.args, (json::array{"again"}));
}

TEST(Outcome, AnyOtherExceptionIsARuntimeError) {
  auto outcome = run_guarded("add", []() -> json::value { throw std::out_of_range("oops"); });
  EXPECT_EQ(outcome.state, TaskState::failure);
  EXPECT_EQ(outcome.exception.type, "RuntimeError");
  EXPECT_EQ(outcome.exception.module, "builtins");
  EXPECT_EQ(outcome.exception.args, (json::array{"oops"}));
}

TEST(Outcome, UnknownTasksAndExpiredMessages) {
  auto unknown = not_registered("nosuch");
  EXPECT_EQ(unknown.state, TaskState::failure);
  EXPECT_EQ(unknown.exception.type, "NotRegistered");
  EXPECT_EQ(unknown.exception.module, "celery.exceptions");
  EXPECT_EQ(unknown.exception.args, (json::array{"nosuch"}));
  EXPECT_FALSE(unknown.exception.traceback.empty());

  auto gone = revoked();
  EXPECT_EQ(gone.state, TaskState::revoked);
  EXPECT_EQ(gone.exception.type, "TaskRevokedError");
  EXPECT_EQ(gone.exception.args, (json::array{"expired"}));
  EXPECT_TRUE(gone.exception.traceback.empty());
}

TEST(Outcome, Expiry) {
  auto message = message_for("add");
  const double now = 1795900399.5;
  EXPECT_FALSE(expired(message, now));
  message.expires = celery::format_iso8601(now - 1, true);
  EXPECT_TRUE(expired(message, now));
  message.expires = celery::format_iso8601(now + 1, true);
  EXPECT_FALSE(expired(message, now));
  message.expires = "whenever";
  EXPECT_FALSE(expired(message, now));
}

TEST(Outcome, EachOutcomeIsStoredUnderItsCelerysState) {
  auto message = message_for("fail");
  EXPECT_EQ(
      status_of(settle(message, "tag-1", run_guarded("fail", [] { return json::value(1); }), 0)),
      "SUCCESS");
  EXPECT_EQ(status_of(settle(message, "tag-1", not_registered("fail"), 0)), "FAILURE");
  EXPECT_EQ(status_of(settle(message, "tag-1", revoked(), 0)), "REVOKED");
  auto retry = run_guarded("fail", []() -> json::value {
    throw tasks::Retry{1, tasks::value_error("x")};
  });
  EXPECT_EQ(status_of(settle(message, "tag-1", retry, 0)), "RETRY");
}

TEST(Outcome, SettlingAcksTheMessageWithItsRecord) {
  auto message = message_for("add");
  auto completion = settle(message, "tag-1", run_guarded("add", [] { return json::value(3); }), 0);
  EXPECT_EQ(completion.task_id, "task-1");
  EXPECT_EQ(completion.tag, "tag-1");
  EXPECT_EQ(json::parse(completion.record).at("result"), 3);
  EXPECT_TRUE(completion.retry_envelope.empty());
  EXPECT_TRUE(completion.retry_queue_key.empty());
}

TEST(Outcome, IgnoreResultDropsOnlyTheSuccessRecord) {
  auto message = message_for("add");
  message.ignore_result = true;
  EXPECT_TRUE(settle(message, "tag-1", run_guarded("add", [] { return json::value(3); }), 0)
                  .record.empty());
  EXPECT_EQ(status_of(settle(message, "tag-1", not_registered("add"), 0)), "FAILURE");
}

TEST(Outcome, ARetryPublishesTheNextAttempt) {
  auto message = message_for("fail");
  message.retries = 2;
  message.routing_key = "fast";
  message.priority = 6;
  message.redelivered = true;
  auto retry = run_guarded("fail", []() -> json::value {
    throw tasks::Retry{8, tasks::value_error("x")};
  });
  const double now = 1795900399.25;
  auto completion = settle(message, "tag-1", retry, now);
  EXPECT_EQ(completion.tag, "tag-1");  // the message that ran is acked...
  EXPECT_EQ(completion.retry_queue_key, celery::queue_key("fast", 6));
  auto next = celery::decode_envelope(completion.retry_envelope);  // ...and replaced by this one
  EXPECT_EQ(next.id, "task-1");
  EXPECT_EQ(next.task, "fail");
  EXPECT_EQ(next.retries, 3);
  EXPECT_EQ(next.eta, celery::format_iso8601(now + 8, true));
  EXPECT_NE(next.delivery_tag, "tag-1");
  EXPECT_FALSE(next.delivery_tag.empty());
  EXPECT_FALSE(next.redelivered);
  EXPECT_EQ(next.routing_key, "fast");
  EXPECT_EQ(next.priority, 6);
}

TEST(Outcome, WhatFollowsATaskIsWrittenWithItsAck) {
  auto message = message_for("add");
  message.parent_id = "parent-0";
  message.embed["chain"] = json::array{json::object{
      {"task", "add"}, {"args", json::array{10}}, {"options", json::object{{"task_id", "next"}}}}};
  auto completion = settle(message, "tag-1", run_guarded("add", [] { return json::value(3); }), 0);
  ASSERT_EQ(completion.publishes.size(), 1U);
  EXPECT_EQ(celery::decode_envelope(completion.publishes[0].envelope).args, (json::array{3, 10}));
  auto record = json::parse(completion.record);
  EXPECT_EQ(record.at("parent_id"), "parent-0");
  EXPECT_EQ(record.at("children"),
            (json::array{json::array{json::array{"next", nullptr}, nullptr}}));
  EXPECT_FALSE(completion.chord);
}

}  // namespace
}  // namespace october::worker
