#include "celery/canvas.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "celery/keys.hpp"
#include "celery/timestamps.hpp"
#include "support/signatures.hpp"

namespace october::celery {
namespace {

namespace json = boost::json;

using october::testing::sig;

TaskMessage finished(std::string id = "t1") {
  TaskMessage message;
  message.task = "add";
  message.id = std::move(id);
  message.root_id = "root";
  return message;
}

TaskMessage decoded(const Publish& publish) { return decode_envelope(publish.envelope); }

TEST(Canvas, ChainPassesTheResultToTheNextLinkWithTheRestOfTheChain) {
  TaskMessage message = finished();
  // Reversed, as Celery sends it: the next link is the last element.
  message.embed["chain"] = json::array{sig("add", {100, 200}, {{"task_id", "t3"}}, true),
                                       sig("add", {10}, {{"task_id", "t2"}, {"reply_to", "r"}})};
  auto follow = follow_ups(message, TaskState::success, 3, {}, 0);
  ASSERT_EQ(follow.publishes.size(), 1U);
  TaskMessage next = decoded(follow.publishes[0]);
  EXPECT_EQ(next.id, "t2");
  EXPECT_EQ(next.args, (json::array{3, 10}));
  EXPECT_EQ(next.parent_id, "t1");
  EXPECT_EQ(next.root_id, "root");
  EXPECT_EQ(next.reply_to, "r");
  EXPECT_EQ(next.embed.at("chain"),
            (json::array{sig("add", {100, 200}, {{"task_id", "t3"}}, true)}));
  EXPECT_EQ(follow.publishes[0].queue_key, "celery");
  EXPECT_EQ(follow.children, (json::array{json::array{json::array{"t2", nullptr}, nullptr}}));

  // The last link gets an empty chain, as Celery's chain.pop() leaves it.
  TaskMessage second = next;
  second.delivery_tag.clear();
  auto last = follow_ups(second, TaskState::success, 13, {}, 0);
  ASSERT_EQ(last.publishes.size(), 1U);
  TaskMessage third = decoded(last.publishes[0]);
  EXPECT_EQ(third.args, (json::array{100, 200}));  // immutable: the result is not passed
  EXPECT_EQ(third.embed.at("chain"), json::array{});
  EXPECT_EQ(third.parent_id, "t2");
  EXPECT_EQ(third.root_id, "root");
}

TEST(Canvas, OneCallbackAloneSeveralAsAGroup) {
  TaskMessage message = finished();
  message.embed["callbacks"] = json::array{sig("add", {7})};
  auto one = follow_ups(message, TaskState::success, 5, {}, 0);
  ASSERT_EQ(one.publishes.size(), 1U);
  EXPECT_EQ(decoded(one.publishes[0]).args, (json::array{5, 7}));
  EXPECT_FALSE(decoded(one.publishes[0]).group);

  message.embed["callbacks"] = json::array{sig("add", {7}), sig("add", {8})};
  auto two = follow_ups(message, TaskState::success, 5, {}, 0);
  ASSERT_EQ(two.publishes.size(), 2U);
  auto group = decoded(two.publishes[0]).group;
  ASSERT_TRUE(group);
  EXPECT_EQ(decoded(two.publishes[1]).group, group);
  ASSERT_EQ(two.children.size(), 1U);
  EXPECT_EQ(two.children[0].at(0).at(0), json::value(*group));
}

TEST(Canvas, CallbacksAreNotCalledOnFailure) {
  TaskMessage message = finished();
  message.embed["callbacks"] = json::array{sig("add", {7})};
  EXPECT_TRUE(follow_ups(message, TaskState::failure, nullptr, {}, 0).publishes.empty());
}

TEST(Canvas, ErrbacksGetTheFailedTaskIdAndChainedTasksTheFailure) {
  TaskMessage message = finished();
  message.embed["errbacks"] = json::array{sig("record_errback", {}, {{"task_id", "e1"}})};
  message.embed["chain"] =
      json::array{sig("add", {2}, {{"task_id", "t3"}}), sig("add", {1}, {{"task_id", "t2"}})};
  TaskException error{"ValueError", "builtins", json::array{"boom"}, ""};
  auto follow = follow_ups(message, TaskState::failure, nullptr, error, 0);
  ASSERT_EQ(follow.publishes.size(), 1U);
  TaskMessage errback = decoded(follow.publishes[0]);
  EXPECT_EQ(errback.id, "e1");
  EXPECT_EQ(errback.args, (json::array{"t1"}));
  EXPECT_EQ(errback.parent_id, "t1");
  EXPECT_EQ(errback.root_id, "root");
  EXPECT_TRUE(errback.group);  // Celery sends errbacks as a group, even a single one
  ASSERT_EQ(follow.records.size(), 2U);
  EXPECT_EQ(follow.records[0].first, "t3");
  EXPECT_EQ(follow.records[1].first, "t2");
  auto record = json::parse(follow.records[1].second);
  EXPECT_EQ(record.at("status"), "FAILURE");
  EXPECT_EQ(record.at("result").at("exc_type"), "ValueError");
}

TEST(Canvas, ChordKeysAndMembersAsTheRedisBackendWritesThem) {
  EXPECT_EQ(chord_key("g1", ".j"), "celery-taskset-meta-g1.j");
  EXPECT_EQ(chord_key("g1", ".t"), "celery-taskset-meta-g1.t");
  EXPECT_EQ(chord_key("g1", ".s"), "celery-taskset-meta-g1.s");
  EXPECT_EQ(json::parse(chord_member("t1", TaskState::success, 2)),
            (json::array{1, "t1", "SUCCESS", 2}));
}

TEST(Canvas, AChordHeaderTaskJoinsItsChord) {
  TaskMessage message = finished("h1");
  message.group = "g1";
  message.group_index = 1;
  message.embed["chord"] = sig("tsum", {}, {{"task_id", "body"}});
  auto part = follow_ups(message, TaskState::success, 4, {}, 0).chord;
  ASSERT_TRUE(part);
  EXPECT_EQ(part->group_id, "g1");
  EXPECT_EQ(part->group_index, 1);
  EXPECT_EQ(json::parse(part->member), (json::array{1, "h1", "SUCCESS", 4}));
  EXPECT_FALSE(follow_ups(message, TaskState::retry, nullptr, {}, 0).chord);
  message.group.reset();
  EXPECT_FALSE(follow_ups(message, TaskState::success, 4, {}, 0).chord);
}

TEST(Canvas, TheLastPartCallsTheBodyWithTheResultsInHeaderOrder) {
  ChordPart part;
  part.group_id = "g1";
  part.body = sig("tsum", {}, {{"task_id", "body"}});
  part.lineage = {"h3", "h3", false};
  auto finish = finish_chord(
      part,
      {chord_member("h1", TaskState::success, 2), chord_member("h2", TaskState::success, 4),
       chord_member("h3", TaskState::success, 6)},
      0);
  ASSERT_EQ(finish.publishes.size(), 1U);
  EXPECT_TRUE(finish.records.empty());
  TaskMessage body = decoded(finish.publishes[0]);
  EXPECT_EQ(body.id, "body");
  EXPECT_EQ(body.task, "tsum");
  EXPECT_EQ(body.args, (json::array{json::array{2, 4, 6}}));
  EXPECT_EQ(body.parent_id, "h3");
}

TEST(Canvas, AFailedPartStoresChordErrorOnTheBody) {
  ChordPart part;
  part.group_id = "g1";
  part.body = sig("tsum", {},
                  {{"task_id", "body"}, {"link_error", json::array{sig("record_errback", {})}}});
  TaskException error{"ValueError", "builtins", json::array{"hdr"}, ""};
  auto finish = finish_chord(part,
                             {chord_member("h1", TaskState::success, 2),
                              chord_member("h2", TaskState::failure, exception_value(error))},
                             0);
  ASSERT_EQ(finish.records.size(), 1U);
  EXPECT_EQ(finish.records[0].first, "body");
  auto record = json::parse(finish.records[0].second);
  EXPECT_EQ(record.at("status"), "FAILURE");
  EXPECT_EQ(record.at("result").at("exc_type"), "ChordError");
  EXPECT_EQ(record.at("result").at("exc_module"), "celery.exceptions");
  EXPECT_EQ(record.at("result").at("exc_message"),
            (json::array{"Dependency h2 raised ValueError('hdr')"}));
  ASSERT_EQ(finish.publishes.size(), 1U);  // the body's errback, given the body's id
  EXPECT_EQ(decoded(finish.publishes[0]).args, (json::array{"body"}));
}

TEST(Canvas, ExceptionRepr) {
  EXPECT_EQ(
      exception_repr(json::object{{"exc_type", "ValueError"}, {"exc_message", json::array{"x"}}}),
      "ValueError('x')");
  EXPECT_EQ(
      exception_repr(json::object{{"exc_type", "KeyError"}, {"exc_message", json::array{"a", 1}}}),
      "KeyError('a', 1)");
  EXPECT_EQ(exception_repr(json::object{{"exc_type", "E"}, {"exc_message", json::array{}}}), "E()");
}

}  // namespace
}  // namespace october::celery
