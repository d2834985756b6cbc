#include "celery/records.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <regex>
#include <utility>
#include <vector>

namespace october::celery {
namespace {

namespace json = boost::json;

// Written out here, not taken from the code under test, so a wrong entry there shows up.
const std::vector<std::pair<TaskState, std::string>> kCeleryStates = {
    {TaskState::pending, "PENDING"}, {TaskState::received, "RECEIVED"},
    {TaskState::started, "STARTED"}, {TaskState::success, "SUCCESS"},
    {TaskState::failure, "FAILURE"}, {TaskState::retry, "RETRY"},
    {TaskState::revoked, "REVOKED"}, {TaskState::rejected, "REJECTED"},
    {TaskState::ignored, "IGNORED"},
};

// date_done is the clock's; everything else is compared byte for byte.
std::string without_date(const std::string& record) {
  return std::regex_replace(record, std::regex(R"("date_done":"[0-9T:.-]+")"),
                            R"("date_done":"D")");
}

TEST(Records, EveryStateHasCelerysName) {
  for (const auto& [state, name] : kCeleryStates) {
    EXPECT_EQ(state_name(state), name);
    EXPECT_EQ(parse_state(name), state) << name;
  }
}

TEST(Records, StateNamesRoundTrip) {
  for (const auto& [state, name] : kCeleryStates) {
    auto back = parse_state(state_name(state));
    ASSERT_TRUE(back) << name;
    EXPECT_EQ(*back, state);
  }
}

TEST(Records, UnknownStateNamesAreRefused) {
  EXPECT_FALSE(parse_state(""));
  EXPECT_FALSE(parse_state("success"));
  EXPECT_FALSE(parse_state("SUCCESS "));
  EXPECT_FALSE(parse_state("DONE"));
}

TEST(Records, SuccessRecordIsCelerys) {
  EXPECT_EQ(without_date(success_record("id1", json::parse(R"({"a":[1,2.5]})"))),
            R"({"status":"SUCCESS","result":{"a":[1,2.5]},"traceback":null,"children":[],)"
            R"("date_done":"D","task_id":"id1"})");
  auto record = json::parse(success_record("id1", 3)).as_object();
  EXPECT_NE(std::string(record.at("date_done").as_string()).find('T'), std::string::npos);
}

TEST(Records, FailureRecordsAreCelerys) {
  TaskException error{"ValueError", "builtins", json::array{"bad"}, "tb"};
  EXPECT_EQ(without_date(failure_record("id2", TaskState::failure, error)),
            R"({"status":"FAILURE","result":{"exc_type":"ValueError","exc_message":["bad"],)"
            R"("exc_module":"builtins"},"traceback":"tb","children":[],"date_done":"D",)"
            R"("task_id":"id2"})");
  TaskException revoked{"TaskRevokedError", "celery.exceptions", json::array{"expired"}, ""};
  EXPECT_EQ(without_date(failure_record("id3", TaskState::revoked, revoked)),
            R"({"status":"REVOKED","result":{"exc_type":"TaskRevokedError",)"
            R"("exc_message":["expired"],"exc_module":"celery.exceptions"},"traceback":null,)"
            R"("children":[],"date_done":"D","task_id":"id3"})");
  auto retry = json::parse(failure_record("id4", TaskState::retry, error)).as_object();
  EXPECT_EQ(retry.at("status").as_string(), "RETRY");
}

}  // namespace
}  // namespace october::celery
