#include "celery/keys.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace october::celery {
namespace {

using Names = std::vector<std::string>;

std::string error_of(const std::string& text) {
  try {
    parse_queues(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Keys, QueueNames) {
  EXPECT_EQ(queue_key("celery", 0), "celery");
  EXPECT_EQ(queue_key("celery", 3),
            "celery\x06\x16"
            "3");
  EXPECT_EQ(queue_key("celery", 5),
            "celery\x06\x16"
            "6");
  const std::string sep = "\x06\x16";  // kombu's, before the priority digit
  EXPECT_EQ(queue_keys("q"), (Names{"q", "q" + sep + "3", "q" + sep + "6", "q" + sep + "9"}));
  EXPECT_EQ(binding_key("celery"), "_kombu.binding.celery");
  EXPECT_EQ(binding_member("celery"),
            "celery\x06\x16\x06\x16"
            "celery");
  EXPECT_EQ(dead_letter_key("celery"), "celery.dead");
  EXPECT_EQ(result_key("abc"), "celery-task-meta-abc");
}

TEST(Keys, PriorityLevels) {
  EXPECT_EQ(priority_level(-1), 0);
  EXPECT_EQ(priority_level(0), 0);
  EXPECT_EQ(priority_level(1), 3);
  EXPECT_EQ(priority_level(3), 3);
  EXPECT_EQ(priority_level(4), 6);
  EXPECT_EQ(priority_level(7), 9);
  EXPECT_EQ(priority_level(9), 9);
}

TEST(Keys, QueueOfKey) {
  for (const auto& key : queue_keys("a.b:c")) EXPECT_EQ(queue_of_key(key), "a.b:c");
}

TEST(Keys, ParsesQueueLists) {
  EXPECT_EQ(parse_queues("celery"), (Names{"celery"}));
  EXPECT_EQ(parse_queues("fast,slow"), (Names{"fast", "slow"}));
  EXPECT_EQ(parse_queues("  fast ,  slow  "), (Names{"fast", "slow"}));
  EXPECT_EQ(parse_queues(",fast,,slow,"), (Names{"fast", "slow"}));
  EXPECT_EQ(parse_queues("a.b,c_d,e-f,g:h,K9"), (Names{"a.b", "c_d", "e-f", "g:h", "K9"}));
}

TEST(Keys, RefusesBadQueueLists) {
  EXPECT_EQ(error_of("fast,sl ow"), "queue name 'sl ow' may only hold letters, digits and . _ - :");
  EXPECT_EQ(error_of("fast,a/b"), "queue name 'a/b' may only hold letters, digits and . _ - :");
  EXPECT_EQ(error_of("tab\tbed"),
            "queue name 'tab\tbed' may only hold letters, digits and . _ - :");
  EXPECT_EQ(error_of(""), "at least one queue name is needed");
  EXPECT_EQ(error_of(" , ,"), "at least one queue name is needed");
}

}  // namespace
}  // namespace october::celery
