#include "celery/envelope.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "crypto/base64.hpp"

namespace october::celery {
namespace {

namespace json = boost::json;
using crypto::base64_decode;
using crypto::base64_encode;

TaskMessage every_field_set() {
  TaskMessage message;
  message.task = "add";
  message.args = {1, "two", nullptr};
  message.kwargs = {{"z", 1.5}, {"w", json::array{true}}};
  message.embed = {
      {"callbacks", nullptr}, {"errbacks", nullptr}, {"chain", json::array{}}, {"chord", nullptr}};
  message.eta = "2026-11-28T21:13:19.299499+00:00";
  message.expires = "2026-11-29T21:13:19.299499+00:00";
  message.retries = 2;
  message.hard_time_limit = 10;
  message.soft_time_limit = 7.5;
  message.root_id = "root-1";
  message.parent_id = "parent-1";
  message.group = "group-1";
  message.origin = "42@host";
  message.ignore_result = true;
  message.priority = 6;
  message.exchange = "ex";
  message.routing_key = "fast";
  message.reply_to = "reply-1";
  message.redelivered = true;
  message.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  return message;
}

TEST(Envelope, RoundTripKeepsEveryField) {
  TaskMessage message = every_field_set();
  std::string raw = encode_envelope(message);
  ASSERT_FALSE(message.id.empty());
  ASSERT_FALSE(message.delivery_tag.empty());

  TaskMessage back = decode_envelope(raw);
  EXPECT_EQ(back.id, message.id);
  EXPECT_EQ(back.task, "add");
  EXPECT_EQ(back.args, message.args);
  EXPECT_EQ(back.kwargs, message.kwargs);
  EXPECT_EQ(back.embed, message.embed);
  EXPECT_EQ(back.eta, message.eta);
  EXPECT_EQ(back.expires, message.expires);
  EXPECT_EQ(back.retries, 2);
  EXPECT_EQ(back.hard_time_limit, 10.0);
  EXPECT_EQ(back.soft_time_limit, 7.5);
  EXPECT_EQ(back.root_id, "root-1");
  EXPECT_EQ(back.parent_id, "parent-1");
  EXPECT_EQ(back.group, "group-1");
  EXPECT_EQ(back.origin, "42@host");
  EXPECT_TRUE(back.ignore_result);
  EXPECT_EQ(back.priority, 6);
  EXPECT_EQ(back.exchange, "ex");
  EXPECT_EQ(back.routing_key, "fast");
  EXPECT_EQ(back.delivery_tag, message.delivery_tag);
  EXPECT_EQ(back.reply_to, "reply-1");
  EXPECT_TRUE(back.redelivered);
  EXPECT_EQ(back.traceparent, message.traceparent);
  // Where OpenTelemetry's Celery instrumentation puts it: a header of its own.
  EXPECT_EQ(json::parse(raw).at("headers").at("traceparent").as_string(), *message.traceparent);
  // Encoding what was decoded gives the same text: nothing is lost or reordered on the way.
  EXPECT_EQ(encode_envelope(back), raw);
}

TEST(Envelope, DefaultsAreFilledAndUnsetFieldsStayUnset) {
  TaskMessage message;
  message.task = "ping";
  TaskMessage back = decode_envelope(encode_envelope(message));
  EXPECT_EQ(back.root_id, message.id);
  EXPECT_FALSE(back.reply_to.empty());
  EXPECT_FALSE(back.origin.empty());
  EXPECT_FALSE(back.eta);
  EXPECT_FALSE(back.expires);
  EXPECT_FALSE(back.parent_id);
  EXPECT_FALSE(back.group);
  EXPECT_FALSE(back.hard_time_limit);
  EXPECT_FALSE(back.soft_time_limit);
  EXPECT_EQ(back.retries, 0);
  EXPECT_EQ(back.routing_key, "celery");
  EXPECT_FALSE(back.redelivered);
  EXPECT_FALSE(back.traceparent);
  EXPECT_FALSE(
      json::parse(encode_envelope(message)).at("headers").as_object().contains("traceparent"));
}

TEST(Envelope, WireShapeIsCelerys) {
  TaskMessage message;
  message.task = "add";
  message.args = {1, 2};
  std::string raw = encode_envelope(message);
  auto envelope = json::parse(raw).as_object();
  EXPECT_EQ(envelope.at("content-type").as_string(), "application/json");
  EXPECT_EQ(envelope.at("content-encoding").as_string(), "utf-8");
  EXPECT_EQ(envelope.at("properties").at("body_encoding").as_string(), "base64");
  EXPECT_EQ(envelope.at("properties").at("delivery_mode"), 2);
  EXPECT_EQ(envelope.at("properties").at("correlation_id").as_string(), message.id);
  EXPECT_EQ(envelope.at("headers").at("lang").as_string(), "py");
  EXPECT_EQ(envelope.at("headers").at("argsrepr").as_string(), "(1, 2)");
  EXPECT_EQ(envelope.at("headers").at("kwargsrepr").as_string(), "{}");
  EXPECT_EQ(envelope.at("headers").at("timelimit"), json::parse("[null, null]"));
  EXPECT_FALSE(envelope.at("headers").as_object().contains("redelivered"));
  auto body = json::parse(*base64_decode(envelope.at("body").as_string()));
  EXPECT_EQ(
      body,
      json::parse(R"([[1,2],{},{"callbacks":null,"errbacks":null,"chain":null,"chord":null}])"));
}

TEST(Envelope, DecodesWhatPythonCelerySends) {
  // Shaped as the protocol notes record Celery 5.2's send_task(countdown=, expires=,
  // time_limit=, soft_time_limit=, priority=) on a retried task (ids shortened).
  std::string body = base64_encode(
      R"([[4, 5], {"z": 1}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}])");
  std::string raw = R"J({"body": ")J" + body + R"J(", "content-encoding": "utf-8",
    "content-type": "application/json",
    "headers": {"lang": "py", "task": "add", "id": "t-1", "shadow": null,
      "eta": "2026-11-28T21:13:19.299499+00:00", "expires": "2026-11-28T22:13:19.299499+00:00",
      "group": null, "group_index": null, "retries": 1, "timelimit": [30, 20.5],
      "root_id": "t-0", "parent_id": null, "argsrepr": "(4, 5)", "kwargsrepr": "{'z': 1}",
      "origin": "1@host", "ignore_result": false},
    "properties": {"correlation_id": "t-1", "reply_to": "r-1", "delivery_mode": 2,
      "delivery_info": {"exchange": "", "routing_key": "celery"}, "priority": 3,
      "body_encoding": "base64", "delivery_tag": "d-1"}})J";
  auto message = decode_envelope(raw);
  EXPECT_EQ(message.id, "t-1");
  EXPECT_EQ(message.task, "add");
  EXPECT_EQ(message.args, (json::array{4, 5}));
  EXPECT_EQ(message.kwargs.at("z"), 1);
  EXPECT_EQ(message.eta, "2026-11-28T21:13:19.299499+00:00");
  EXPECT_EQ(message.expires, "2026-11-28T22:13:19.299499+00:00");
  EXPECT_EQ(message.retries, 1);
  EXPECT_EQ(message.hard_time_limit, 30.0);
  EXPECT_EQ(message.soft_time_limit, 20.5);
  EXPECT_EQ(message.root_id, "t-0");
  EXPECT_FALSE(message.parent_id);
  EXPECT_FALSE(message.group);
  EXPECT_EQ(message.origin, "1@host");
  EXPECT_EQ(message.priority, 3);
  EXPECT_EQ(message.delivery_tag, "d-1");
  EXPECT_EQ(message.reply_to, "r-1");
  EXPECT_EQ(message.routing_key, "celery");
  EXPECT_FALSE(message.redelivered);
  auto again = decode_envelope(mark_redelivered(raw));
  EXPECT_TRUE(again.redelivered);
  EXPECT_EQ(again.id, "t-1");
  EXPECT_EQ(again.args, message.args);
}

TEST(Envelope, MalformedMessagesSayWhy) {
  EXPECT_THROW(decode_envelope("not json"), MalformedMessage);
  EXPECT_THROW(decode_envelope("[]"), MalformedMessage);
  EXPECT_THROW(decode_envelope(R"({"headers": {}, "properties": {}})"), MalformedMessage);
  try {
    decode_envelope(R"({"body": "!!", "headers": {"task": "add", "id": "x"},
      "properties": {"delivery_tag": "d", "body_encoding": "base64"}})");
    FAIL();
  } catch (const MalformedMessage& e) {
    EXPECT_NE(std::string(e.what()).find("base64"), std::string::npos);
  }
  // Protocol 1 bodies (a dict) are refused, not misread.
  std::string v1 = base64_encode(R"({"task": "add", "args": [1, 2]})");
  EXPECT_THROW(decode_envelope(R"({"body": ")" + v1 + R"(", "headers": {"task": "add", "id": "x"},
      "properties": {"delivery_tag": "d", "body_encoding": "base64"}})"),
               MalformedMessage);
}

TEST(Envelope, Uuid4Format) {
  auto id = make_uuid4();
  ASSERT_EQ(id.size(), 36U);
  EXPECT_EQ(id[14], '4');
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);
  EXPECT_NE(make_uuid4(), id);
}

TEST(Envelope, PythonRepr) {
  EXPECT_EQ(python_repr(json::parse(R"([1, "a'b", null, true, [2]])"), true),
            R"((1, 'a\'b', None, True, [2]))");
  EXPECT_EQ(python_repr(json::array{1}, true), "(1,)");
  EXPECT_EQ(python_repr(json::parse(R"({"z": 1})")), "{'z': 1}");
}

}  // namespace
}  // namespace october::celery
