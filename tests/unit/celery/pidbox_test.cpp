#include "celery/pidbox.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <string>
#include <vector>

#include "celery/envelope.hpp"
#include "celery/events.hpp"
#include "celery/kombu.hpp"
#include "core/json_text.hpp"

namespace october::celery {
namespace {

namespace json = boost::json;

// A broadcast as `celery inspect ping` publishes it (kombu 5.2, observed with MONITOR).
std::string ping_request(const json::value& destination) {
  json::object body{{"method", "ping"},
                    {"arguments", json::object{}},
                    {"destination", destination},
                    {"pattern", nullptr},
                    {"matcher", nullptr},
                    {"ticket", "t-1"},
                    {"reply_to", {{"exchange", "reply.celery.pidbox"}, {"routing_key", "rk-1"}}}};
  return encode_kombu_message(body, {{"clock", 7}, {"expires", 1.5}}, "celery.pidbox", "", 2);
}

TEST(Pidbox, DecodesABroadcast) {
  ControlRequest request = decode_control(ping_request(nullptr));
  EXPECT_EQ(request.method, "ping");
  EXPECT_EQ(request.ticket, "t-1");
  EXPECT_EQ(request.reply_exchange, "reply.celery.pidbox");
  EXPECT_EQ(request.reply_routing_key, "rk-1");
  EXPECT_EQ(request.clock, 7);
  EXPECT_TRUE(request.destination.empty());
  EXPECT_TRUE(addressed_to(request, "celery@a"));
}

TEST(Pidbox, HonoursDestinationAndPatterns) {
  ControlRequest request = decode_control(ping_request(json::array{"celery@b"}));
  EXPECT_FALSE(addressed_to(request, "celery@a"));
  EXPECT_TRUE(addressed_to(request, "celery@b"));
  ControlRequest glob;
  glob.pattern = "celery@w*";
  glob.matcher = "glob";
  EXPECT_TRUE(addressed_to(glob, "celery@w1"));
  EXPECT_FALSE(addressed_to(glob, "celery@x1"));
  ControlRequest pcre = glob;
  pcre.pattern = "celery@w[0-9]";
  pcre.matcher = "pcre";
  EXPECT_TRUE(addressed_to(pcre, "celery@w1"));
  EXPECT_FALSE(addressed_to(pcre, "xcelery@w1"));
}

TEST(Pidbox, RejectsWhatIsNotACommand) {
  EXPECT_THROW(decode_control("not json"), MalformedMessage);
  EXPECT_THROW(decode_control(encode_kombu_message(json::object{}, {}, "celery.pidbox", "", 2)),
               MalformedMessage);
}

TEST(Pidbox, ReplyIsKeyedByHostnameWithTicketAndClock) {
  ControlRequest request = decode_control(ping_request(nullptr));
  std::string raw = encode_reply("celery@a", json::object{{"ok", "pong"}}, request, 9);
  json::object envelope = json::parse(raw).as_object();
  EXPECT_EQ(envelope.at("headers").as_object().at("ticket"), "t-1");
  EXPECT_EQ(envelope.at("headers").as_object().at("clock"), 9);
  const auto& info = envelope.at("properties").as_object().at("delivery_info").as_object();
  EXPECT_EQ(info.at("exchange"), "reply.celery.pidbox");
  EXPECT_EQ(info.at("routing_key"), "rk-1");
  EXPECT_EQ(envelope.at("properties").as_object().at("delivery_mode"), 1);
  KombuMessage decoded = decode_kombu_message(raw);
  EXPECT_EQ(to_json(decoded.body), R"({"celery@a":{"ok":"pong"}})");
}

TEST(Pidbox, NamesOnRedis) {
  EXPECT_EQ(fanout_channel(0, "celery.pidbox"), "/0.celery.pidbox");
  EXPECT_EQ(fanout_channel(3, "celeryev", "task.succeeded"), "/3.celeryev/task.succeeded");
  EXPECT_EQ(pidbox_queue("celery@a"), "celery@a.celery.pidbox");
  EXPECT_EQ(exchange_binding_member("", "celery@a.celery.pidbox"),
            "\x06\x16\x06\x16"
            "celery@a.celery.pidbox");
  std::vector<std::string> members{exchange_binding_member("rk-1", "rk-1.reply.celery.pidbox"),
                                   exchange_binding_member("rk-2", "rk-2.reply.celery.pidbox"),
                                   "garbage"};
  EXPECT_EQ(direct_route(members, "rk-2"), std::vector<std::string>{"rk-2.reply.celery.pidbox"});
  EXPECT_TRUE(direct_route(members, "rk-3").empty());
}

TEST(LamportClock, ForwardsAndAdjusts) {
  LamportClock clock;
  EXPECT_EQ(clock.forward(), 1);
  clock.adjust(10);
  EXPECT_EQ(clock.value(), 11);
  clock.adjust(3);
  EXPECT_EQ(clock.value(), 12);
}

TEST(Events, FieldsAndRoutingKeyAsCelerySendsThem) {
  EventSource source{"celery@a", 42, 0};
  json::object event = make_event("task-succeeded", source, 5, 1700000000.5,
                                  {{"uuid", "id-1"}, {"result", "3"}, {"runtime", 0.25}});
  EXPECT_EQ(to_json(event),
            R"({"hostname":"celery@a","utcoffset":0,"pid":42,"clock":5,"uuid":"id-1",)"
            R"("result":"3","runtime":0.25,"timestamp":1700000000.5,"type":"task-succeeded"})");
  EXPECT_EQ(event_routing_key("worker-heartbeat"), "worker.heartbeat");
  json::object envelope = json::parse(encode_event(event, "celery@a")).as_object();
  EXPECT_EQ(envelope.at("headers").as_object().at("hostname"), "celery@a");
  const auto& info = envelope.at("properties").as_object().at("delivery_info").as_object();
  EXPECT_EQ(info.at("exchange"), "celeryev");
  EXPECT_EQ(info.at("routing_key"), "task.succeeded");
}

TEST(Events, WorkerFields) {
  json::object fields = worker_fields(2, 10, "1.2.3");
  EXPECT_EQ(fields.at("freq"), 2.0);
  EXPECT_EQ(fields.at("active"), 2);
  EXPECT_EQ(fields.at("processed"), 10);
  EXPECT_EQ(fields.at("sw_ident"), "october-worker");
  EXPECT_EQ(fields.at("sw_ver"), "1.2.3");
  EXPECT_EQ(fields.at("sw_sys"), "Linux");
  EXPECT_EQ(fields.at("loadavg").as_array().size(), 3U);
}

}  // namespace
}  // namespace october::celery
