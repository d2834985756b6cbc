#include "celery/apply.hpp"

#include <gtest/gtest.h>

#include "celery/keys.hpp"
#include "celery/timestamps.hpp"
#include "support/signatures.hpp"

namespace october::celery {
namespace {

namespace json = boost::json;

using october::testing::sig;

json::value composite(std::string_view type, json::object kwargs, json::object options = {}) {
  return json::object{{"task", "celery." + std::string(type)},
                      {"args", json::array{}},
                      {"kwargs", std::move(kwargs)},
                      {"options", std::move(options)},
                      {"subtask_type", type},
                      {"immutable", false}};
}

std::vector<TaskMessage> decoded(const Applied& applied) {
  std::vector<TaskMessage> messages;
  for (const auto& publish : applied.publishes) {
    messages.push_back(decode_envelope(publish.envelope));
  }
  return messages;
}

const Lineage kByT1{"t1", "root", true};

TEST(Apply, PartialArgumentsGoFirstUnlessImmutable) {
  auto mutable_sig = parse_signature(sig("add", {10}));
  auto immutable_sig = parse_signature(sig("add", {100, 200}, {}, true));
  ASSERT_TRUE(mutable_sig && immutable_sig);
  EXPECT_EQ(merged_args(*mutable_sig, {3}), (json::array{3, 10}));
  EXPECT_EQ(merged_args(*immutable_sig, {3}), (json::array{100, 200}));
  EXPECT_EQ(merged_args(*mutable_sig, {}), (json::array{10}));
}

TEST(Apply, NotASignature) {
  EXPECT_FALSE(parse_signature(json::value(nullptr)));
  EXPECT_FALSE(parse_signature(json::object{{"args", json::array{}}}));
  EXPECT_TRUE(parse_signatures(json::value(nullptr)).empty());
  EXPECT_EQ(parse_signatures(sig("ping", {})).size(), 1U);  // one signature, not in a list
}

TEST(Apply, SignatureOptionsBecomeHeaders) {
  auto signature = parse_signature(sig("add", {1},
                                       {{"queue", "py"},
                                        {"priority", 5},
                                        {"countdown", 3},
                                        {"expires", 60},
                                        {"time_limit", 9},
                                        {"soft_time_limit", 8},
                                        {"group_id", "g"},
                                        {"group_index", 2},
                                        {"link", json::array{sig("add", {5})}},
                                        {"link_error", sig("record_errback", {})}}));
  ASSERT_TRUE(signature);
  const double now = 1'800'000'000;
  TaskMessage message = message_for(*signature, {2}, {"p", "r", true}, now);
  EXPECT_EQ(message.routing_key, "py");
  EXPECT_EQ(message.priority, 5);
  EXPECT_EQ(message.eta, format_iso8601(now + 3, true));
  EXPECT_EQ(message.expires, format_iso8601(now + 60, true));
  EXPECT_EQ(message.hard_time_limit, 9);
  EXPECT_EQ(message.soft_time_limit, 8);
  EXPECT_EQ(message.group, "g");
  EXPECT_EQ(message.group_index, 2);
  EXPECT_EQ(message.embed.at("callbacks"), (json::array{sig("add", {5})}));
  EXPECT_EQ(message.embed.at("errbacks"), (json::array{sig("record_errback", {})}));
  EXPECT_EQ(publish_of(message).queue_key, queue_key("py", 6));
}

TEST(Apply, AGroupGivesEveryMemberItsIdAndThePartialArguments) {
  auto group = parse_signature(composite(
      "group", {{"tasks", json::array{sig("add", {10}), sig("add", {20}, {{"group_index", 1}})}}},
      {{"task_id", "g1"}}));
  ASSERT_TRUE(group);
  Applied applied;
  json::value child = apply_signature(applied, *group, {2}, kByT1, 0);
  auto messages = decoded(applied);
  ASSERT_EQ(messages.size(), 2U);
  EXPECT_EQ(messages[0].args, (json::array{2, 10}));
  EXPECT_EQ(messages[1].args, (json::array{2, 20}));
  EXPECT_EQ(messages[0].group, "g1");
  EXPECT_FALSE(messages[0].group_index);  // a link's group is not frozen: no index, as Celery
  EXPECT_EQ(messages[1].group_index, 1);
  EXPECT_EQ(messages[0].parent_id, "t1");
  EXPECT_EQ(messages[0].root_id, "root");
  EXPECT_EQ(child,
            (json::array{json::array{"g1", nullptr},
                         json::array{json::array{json::array{messages[0].id, nullptr}, nullptr},
                                     json::array{json::array{messages[1].id, nullptr}, nullptr}}}));
  EXPECT_TRUE(applied.values.empty());
}

TEST(Apply, AChainSendsItsFirstTaskWithTheRestReversed) {
  auto chain = parse_signature(
      composite("chain", {{"tasks", json::array{sig("add", {10}, {{"task_id", "a"}}),
                                                sig("add", {20}, {{"task_id", "b"}}),
                                                sig("add", {30}, {{"task_id", "c"}})}}}));
  ASSERT_TRUE(chain);
  Applied applied;
  json::value child = apply_signature(applied, *chain, {2}, kByT1, 0);
  auto messages = decoded(applied);
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_EQ(messages[0].id, "a");
  EXPECT_EQ(messages[0].args, (json::array{2, 10}));
  const auto& rest = messages[0].embed.at("chain").as_array();
  ASSERT_EQ(rest.size(), 2U);
  EXPECT_EQ(rest[0].at("options").at("task_id"), "c");
  EXPECT_EQ(rest[1].at("options").at("task_id"), "b");
  EXPECT_EQ(child, (json::array{json::array{"a", nullptr}, nullptr}));
}

TEST(Apply, AChordSetsItsSizeAndHandsTheBodyTheRestOfTheChain) {
  json::value header =
      composite("group", {{"tasks", json::array{sig("add", {10}), sig("add", {20})}}});
  auto chord = parse_signature(composite("chord", {{"header", header},
                                                   {"body", sig("tsum", {}, {{"task_id", "body"}})},
                                                   {"kwargs", json::object{}}}));
  ASSERT_TRUE(chord);
  Applied applied;
  const json::array rest{sig("add", {1000}, {{"task_id", "after"}})};
  json::value child = apply_signature(applied, *chord, {2}, kByT1, 0, rest);
  auto messages = decoded(applied);
  ASSERT_EQ(messages.size(), 2U);
  ASSERT_TRUE(messages[0].group);
  const std::string group_id = *messages[0].group;
  EXPECT_EQ(messages[1].group, group_id);
  EXPECT_EQ(messages[0].group_index, 0);
  EXPECT_EQ(messages[1].group_index, 1);
  EXPECT_EQ(messages[1].args, (json::array{2, 20}));
  ASSERT_EQ(applied.values.size(), 1U);
  EXPECT_EQ(applied.values[0],
            (std::pair<std::string, std::string>{"celery-taskset-meta-" + group_id + ".s", "2"}));
  const auto& body = messages[0].embed.at("chord");
  EXPECT_EQ(body.at("options").at("task_id"), "body");
  EXPECT_EQ(body.at("options").at("chain"), rest);
  EXPECT_EQ(body.at("options").at("parent_id"), "t1");
  EXPECT_TRUE(messages[0].embed.at("chain").is_null());
  EXPECT_EQ(child.at(0), (json::array{group_id, nullptr}));

  // The body, sent later with delay(), runs the rest of the chain after itself.
  auto body_signature = parse_signature(body);
  ASSERT_TRUE(body_signature);
  TaskMessage sent = message_for(*body_signature, {json::array{12, 22}}, {"t9", "root", false}, 0);
  EXPECT_EQ(sent.parent_id, "t1");
  EXPECT_EQ(sent.embed.at("chain"), rest);
}

TEST(Apply, SeveralCallbacksShareAGroupExceptGroupsWhichGoAlone) {
  std::vector<Signature> callbacks = {
      *parse_signature(sig("add", {1})),
      *parse_signature(
          composite("group", {{"tasks", json::array{sig("add", {2})}}}, {{"task_id", "own"}})),
      *parse_signature(sig("add", {3}))};
  Applied applied;
  json::array children = apply_callbacks(applied, callbacks, {5}, kByT1, 0);
  auto messages = decoded(applied);
  ASSERT_EQ(messages.size(), 3U);
  EXPECT_EQ(messages[0].group, "own");
  ASSERT_TRUE(messages[1].group);
  EXPECT_EQ(messages[1].group, messages[2].group);
  EXPECT_NE(messages[1].group, "own");
  ASSERT_EQ(children.size(), 2U);
  EXPECT_EQ(children[0].at(0), (json::array{"own", nullptr}));
  EXPECT_EQ(children[1].at(0), (json::array{*messages[1].group, nullptr}));
}

}  // namespace
}  // namespace october::celery
