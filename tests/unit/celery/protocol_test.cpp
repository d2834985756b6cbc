#include "celery/protocol.hpp"

#include <gtest/gtest.h>

namespace october::celery {
namespace {

namespace json = boost::json;

TEST(Celery, EnvelopeRoundTrip) {
  TaskMessage message;
  message.task = "add";
  message.args = {1, 2};
  message.eta = "2026-11-28T21:13:19.299499+00:00";
  message.hard_time_limit = 10;
  message.priority = 6;
  std::string raw = encode_envelope(message);
  auto envelope = json::parse(raw).as_object();
  EXPECT_EQ(envelope.at("content-type").as_string(), "application/json");
  EXPECT_EQ(envelope.at("properties").at("body_encoding").as_string(), "base64");
  EXPECT_EQ(envelope.at("headers").at("argsrepr").as_string(), "(1, 2)");
  EXPECT_EQ(envelope.at("headers").at("kwargsrepr").as_string(), "{}");
  EXPECT_EQ(envelope.at("properties").at("correlation_id").as_string(), message.id);
  auto body = json::parse(*base64_decode(envelope.at("body").as_string()));
  EXPECT_EQ(
      body,
      json::parse(R"([[1,2],{},{"callbacks":null,"errbacks":null,"chain":null,"chord":null}])"));

  TaskMessage back = decode_envelope(raw);
  EXPECT_EQ(back.id, message.id);
  EXPECT_EQ(back.task, "add");
  EXPECT_EQ(back.args, message.args);
  EXPECT_EQ(back.eta, message.eta);
  EXPECT_EQ(back.hard_time_limit, 10.0);
  EXPECT_FALSE(back.soft_time_limit);
  EXPECT_EQ(back.priority, 6);
  EXPECT_EQ(back.delivery_tag, message.delivery_tag);
}

TEST(Celery, DecodesWhatPythonCelerySends) {
  // An envelope as Celery 5.2's send_task writes it (ids shortened).
  std::string body = base64_encode(
      R"([[4, 5], {"z": 1}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}])");
  std::string raw = R"J({"body": ")J" + body + R"J(", "content-encoding": "utf-8",
    "content-type": "application/json",
    "headers": {"lang": "py", "task": "add", "id": "t-1", "shadow": null, "eta": null,
      "expires": null, "group": null, "group_index": null, "retries": 0,
      "timelimit": [null, null], "root_id": "t-1", "parent_id": null, "argsrepr": "(4, 5)",
      "kwargsrepr": "{'z': 1}", "origin": "1@host", "ignore_result": false},
    "properties": {"correlation_id": "t-1", "reply_to": "r-1", "delivery_mode": 2,
      "delivery_info": {"exchange": "", "routing_key": "celery"}, "priority": 0,
      "body_encoding": "base64", "delivery_tag": "d-1"}})J";
  auto message = decode_envelope(raw);
  EXPECT_EQ(message.id, "t-1");
  EXPECT_EQ(message.args, (json::array{4, 5}));
  EXPECT_EQ(message.kwargs.at("z"), 1);
  EXPECT_EQ(message.delivery_tag, "d-1");
  EXPECT_EQ(message.routing_key, "celery");
  EXPECT_FALSE(message.eta);
  EXPECT_FALSE(message.redelivered);
  auto again = decode_envelope(mark_redelivered(raw));
  EXPECT_TRUE(again.redelivered);
}

TEST(Celery, MalformedMessagesSayWhy) {
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

TEST(Celery, QueueNames) {
  EXPECT_EQ(queue_key("celery", 0), "celery");
  EXPECT_EQ(queue_key("celery", 3),
            "celery\x06\x16"
            "3");
  EXPECT_EQ(queue_key("celery", 5),
            "celery\x06\x16"
            "6");
  EXPECT_EQ(queue_keys("q").size(), 4U);
  EXPECT_EQ(queue_keys("q")[3],
            "q\x06\x16"
            "9");
  EXPECT_EQ(binding_key("celery"), "_kombu.binding.celery");
  EXPECT_EQ(binding_member("celery"),
            "celery\x06\x16\x06\x16"
            "celery");
  EXPECT_EQ(result_key("abc"), "celery-task-meta-abc");
}

TEST(Celery, Uuid4Format) {
  auto id = make_uuid4();
  ASSERT_EQ(id.size(), 36U);
  EXPECT_EQ(id[14], '4');
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);
  EXPECT_NE(make_uuid4(), id);
}

TEST(Celery, Base64) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    EXPECT_EQ(base64_decode(base64_encode(s)), s);
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_FALSE(base64_decode("abc"));
  EXPECT_FALSE(base64_decode("ab!="));
}

TEST(Celery, Iso8601) {
  EXPECT_DOUBLE_EQ(parse_iso8601("1970-01-01T00:00:00+00:00"), 0);
  EXPECT_DOUBLE_EQ(parse_iso8601("2026-11-28T21:13:19.5+00:00"), 1795900399.5);
  EXPECT_DOUBLE_EQ(parse_iso8601("2026-11-28T23:13:19.5+02:00"), 1795900399.5);
  EXPECT_DOUBLE_EQ(parse_iso8601("2026-11-28T21:13:19.5"), 1795900399.5);
  EXPECT_THROW(parse_iso8601("yesterday"), std::invalid_argument);
  EXPECT_THROW(parse_iso8601("2026-13-01T00:00:00"), std::invalid_argument);
  EXPECT_EQ(format_iso8601(1795900399.299499, true), "2026-11-28T21:13:19.299499+00:00");
  EXPECT_EQ(format_iso8601(1795900399.299499, false), "2026-11-28T21:13:19.299499");
}

TEST(Celery, ResultRecords) {
  auto ok = json::parse(success_record("id1", 3)).as_object();
  EXPECT_EQ(ok.at("status").as_string(), "SUCCESS");
  EXPECT_EQ(ok.at("result"), 3);
  EXPECT_TRUE(ok.at("traceback").is_null());
  EXPECT_EQ(ok.at("task_id").as_string(), "id1");
  EXPECT_TRUE(ok.at("children").as_array().empty());
  auto failed = json::parse(failure_record("id2", "FAILURE", "ValueError", "builtins",
                                           json::array{"bad"}, "tb"))
                    .as_object();
  EXPECT_EQ(failed.at("result").at("exc_type").as_string(), "ValueError");
  EXPECT_EQ(failed.at("result").at("exc_message"), (json::array{"bad"}));
  EXPECT_EQ(failed.at("result").at("exc_module").as_string(), "builtins");
}

TEST(Celery, PythonRepr) {
  EXPECT_EQ(python_repr(json::parse(R"([1, "a'b", null, true, [2]])"), true),
            R"((1, 'a\'b', None, True, [2]))");
  EXPECT_EQ(python_repr(json::array{1}, true), "(1,)");
}

}  // namespace
}  // namespace october::celery
