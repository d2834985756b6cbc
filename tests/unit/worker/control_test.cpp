#include "worker/control.hpp"

#include <gtest/gtest.h>

#include <boost/json/array.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "celery/envelope.hpp"
#include "celery/kombu.hpp"
#include "core/json_text.hpp"
#include "tasks/registry.hpp"
#include "worker/ledger.hpp"
#include "worker/outcome.hpp"

namespace october::worker {
namespace {

namespace json = boost::json;

celery::TaskMessage message_for(const std::string& id, const std::string& task = "sleep") {
  celery::TaskMessage message;
  message.id = id;
  message.task = task;
  message.args = json::array{3};
  message.delivery_tag = "tag-" + id;
  return message;
}

struct Recorded {
  std::vector<std::pair<std::string, json::object>> events;
  bool shutdown = false;
  bool task_events = false;
};

class ControlTest : public ::testing::Test {
 protected:
  ControlTest()
      : ledger_("celery@test", 4242),
        commands_(ledger_,
                  {.hostname = "celery@test",
                   .pid = 4242,
                   .concurrency = 2,
                   .prefetch_count = 8,
                   .queues = {"celery", "other"},
                   .broker = redis::Url::parse("redis://127.0.0.1:6399/0")},
                  clock_,
                  {.set_task_events =
                       [this](bool on) {
                         const bool changed = recorded_.task_events != on;
                         recorded_.task_events = on;
                         if (on) {
                           ledger_.set_task_events([this](std::string_view type, json::object f) {
                             recorded_.events.emplace_back(std::string(type), std::move(f));
                           });
                         } else {
                           ledger_.set_task_events({});
                         }
                         return changed;
                       },
                   .send_heartbeat = [] {},
                   .shutdown = [this] { recorded_.shutdown = true; }}) {}

  json::value run(std::string_view method, json::object arguments = {}) {
    return commands_.run(method, arguments);
  }

  Recorded recorded_;
  celery::LamportClock clock_;
  TaskLedger ledger_;
  Commands commands_;
};

TEST_F(ControlTest, PingAndRegistered) {
  EXPECT_EQ(to_json(run("ping")), R"({"ok":"pong"})");
  json::array names = run("registered").as_array();
  ASSERT_EQ(names.size(), tasks::registry().size());
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end(), [](const auto& a, const auto& b) {
    return a.as_string() < b.as_string();
  }));
}

TEST_F(ControlTest, ActiveReservedScheduledAndQuery) {
  ledger_.received("tag-a", message_for("a"), 0, 100);
  ledger_.received("tag-b", message_for("b"), 0, 100);
  ledger_.received("tag-c", message_for("c"), 4e9, 100);
  ledger_.started("tag-a", std::make_shared<tasks::Context>(), 101);
  json::array active = run("active").as_array();
  ASSERT_EQ(active.size(), 1U);
  EXPECT_EQ(active[0].at("id"), "a");
  EXPECT_EQ(active[0].at("args"), json::array{3});
  EXPECT_EQ(active[0].at("hostname"), "celery@test");
  EXPECT_EQ(active[0].at("worker_pid"), 4242);
  EXPECT_EQ(active[0].at("delivery_info").at("routing_key"), "celery");
  json::array reserved = run("reserved").as_array();
  ASSERT_EQ(reserved.size(), 1U);
  EXPECT_EQ(reserved[0].at("id"), "b");
  EXPECT_TRUE(reserved[0].at("time_start").is_null());
  json::array scheduled = run("scheduled").as_array();
  ASSERT_EQ(scheduled.size(), 1U);
  EXPECT_EQ(scheduled[0].at("request").at("id"), "c");
  EXPECT_EQ(scheduled[0].at("priority"), 6);
  json::object query = run("query_task", {{"ids", json::array{"a", "c", "zz"}}}).as_object();
  EXPECT_EQ(query.size(), 2U);
  EXPECT_EQ(query.at("a").at(0), "active");
  EXPECT_EQ(query.at("c").at(0), "reserved");
}

TEST_F(ControlTest, RevokeFlagsAndTerminateStopsTheRunningOne) {
  EXPECT_EQ(to_json(run("revoke", {{"task_id", "x"}})), R"({"ok":"tasks x flagged as revoked"})");
  EXPECT_TRUE(ledger_.revoked("x"));
  EXPECT_EQ(to_json(run("revoke", {{"task_id", json::array{"y"}}, {"terminate", true}})),
            R"({"ok":"terminate: tasks unknown"})");
  auto context = std::make_shared<tasks::Context>();
  ledger_.received("tag-r", message_for("r"), 0, 1);
  ledger_.started("tag-r", context, 2);
  EXPECT_EQ(to_json(run("revoke", {{"task_id", "r"}, {"terminate", true}, {"signal", "SIGKILL"}})),
            R"({"ok":"terminate: r"})");
  EXPECT_TRUE(context->cancelled());
  Outcome outcome = ledger_.finished("tag-r", message_for("r"), Outcome{}, 0.1);
  EXPECT_EQ(outcome.state, celery::TaskState::revoked);
  EXPECT_EQ(outcome.exception.args.at(0), "terminated");
  EXPECT_EQ(to_json(run("revoked")), R"(["x","y","r"])");
}

TEST_F(ControlTest, UnsupportedAndUnknownCommandsGetAnError) {
  json::object grow = run("pool_grow", {{"n", 1}}).as_object();
  ASSERT_TRUE(grow.contains("error"));
  EXPECT_NE(std::string(grow.at("error").as_string()).find("not supported"), std::string::npos);
  EXPECT_EQ(run("nosuch").at("error"), "KeyError('nosuch')");
}

TEST_F(ControlTest, EventsSwitchAndShutdown) {
  EXPECT_EQ(to_json(run("enable_events")), R"({"ok":"task events enabled"})");
  EXPECT_EQ(to_json(run("enable_events")), R"({"ok":"task events already enabled"})");
  ledger_.received("tag-e", message_for("e", "add"), 0, 1);
  ledger_.started("tag-e", std::make_shared<tasks::Context>(), 2);
  Outcome done;
  done.result = 3;
  ledger_.finished("tag-e", message_for("e", "add"), done, 0.5);
  ASSERT_EQ(recorded_.events.size(), 3U);
  EXPECT_EQ(recorded_.events[0].first, "task-received");
  EXPECT_EQ(recorded_.events[0].second.at("args"), "[3]");
  EXPECT_EQ(recorded_.events[0].second.at("name"), "add");
  EXPECT_EQ(recorded_.events[1].first, "task-started");
  EXPECT_EQ(recorded_.events[2].first, "task-succeeded");
  EXPECT_EQ(recorded_.events[2].second.at("result"), "3");
  EXPECT_EQ(recorded_.events[2].second.at("runtime"), 0.5);
  EXPECT_EQ(to_json(run("disable_events")), R"({"ok":"task events disabled"})");
  EXPECT_FALSE(recorded_.shutdown);
  run("shutdown");
  EXPECT_TRUE(recorded_.shutdown);
}

TEST_F(ControlTest, FailedEventCarriesPythonRepr) {
  run("enable_events");
  Outcome failed;
  failed.state = celery::TaskState::failure;
  failed.exception = {"ValueError", "builtins", json::array{"boom"}, "Traceback ..."};
  ledger_.finished("tag-f", message_for("f", "fail"), failed, 0.1);
  ASSERT_EQ(recorded_.events.size(), 1U);
  EXPECT_EQ(recorded_.events[0].first, "task-failed");
  EXPECT_EQ(recorded_.events[0].second.at("exception"), "ValueError('boom')");
  EXPECT_EQ(recorded_.events[0].second.at("traceback"), "Traceback ...");
}

TEST_F(ControlTest, StatsAndQueues) {
  json::object stats = run("stats").as_object();
  EXPECT_EQ(stats.at("pid"), 4242);
  EXPECT_EQ(stats.at("pool").at("max-concurrency"), 2);
  EXPECT_EQ(stats.at("prefetch_count"), 8);
  EXPECT_EQ(stats.at("broker").at("port"), 6399);
  EXPECT_EQ(stats.at("broker").at("transport"), "redis");
  EXPECT_TRUE(stats.at("clock").is_string());
  json::array queues = run("active_queues").as_array();
  ASSERT_EQ(queues.size(), 2U);
  EXPECT_EQ(queues[1].at("name"), "other");
  EXPECT_EQ(queues[1].at("exchange").at("type"), "direct");
}

TEST(NodeName, DefaultsAndExpansions) {
  EXPECT_TRUE(node_name("").starts_with("celery@"));
  EXPECT_EQ(node_name("w1@box"), "w1@box");
  EXPECT_EQ(node_name("w1@%h"), "w1@" + node_name("").substr(7));
  EXPECT_EQ(node_name("100%%"), "100%");
}

TEST(SignalNumber, CelerySpellings) {
  EXPECT_EQ(signal_number("SIGTERM"), 15);
  EXPECT_EQ(signal_number("term"), 15);
  EXPECT_EQ(signal_number("KILL"), 9);
  EXPECT_FALSE(signal_number("SIGNOPE"));
}

}  // namespace
}  // namespace october::worker
