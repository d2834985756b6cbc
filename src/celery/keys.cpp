#include "celery/keys.hpp"

#include <cctype>
#include <sstream>
#include <stdexcept>

namespace october::celery {

namespace {

// kombu's separator between a queue name and its priority.
constexpr std::string_view kPrioritySeparator = "\x06\x16";

bool queue_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '_' || c == '-' ||
         c == ':';
}

}  // namespace

std::int64_t priority_level(std::int64_t priority) {
  if (priority <= 0) return 0;
  if (priority <= 3) return 3;
  if (priority <= 6) return 6;
  return 9;
}

std::string queue_key(std::string_view queue, std::int64_t priority) {
  std::int64_t level = priority_level(priority);
  std::string key(queue);
  if (level != 0) key += std::string(kPrioritySeparator) + std::to_string(level);
  return key;
}

std::vector<std::string> queue_keys(std::string_view queue) {
  std::vector<std::string> keys;
  for (std::int64_t level : kPriorityLevels) keys.push_back(queue_key(queue, level));
  return keys;
}

std::string queue_of_key(std::string_view key) {
  return std::string(key.substr(0, key.find(kPrioritySeparator)));
}

std::string binding_key(std::string_view queue) { return "_kombu.binding." + std::string(queue); }

std::string binding_member(std::string_view queue) {
  return std::string(queue) + "\x06\x16\x06\x16" + std::string(queue);
}

std::string dead_letter_key(std::string_view queue) { return std::string(queue) + ".dead"; }

std::string result_key(std::string_view task_id) {
  return "celery-task-meta-" + std::string(task_id);
}

std::vector<std::string> parse_queues(const std::string& text) {
  std::vector<std::string> queues;
  std::stringstream in(text);
  for (std::string name; std::getline(in, name, ',');) {
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(' ') + 1);
    if (name.empty()) continue;
    for (char c : name) {
      if (!queue_name_char(c)) {
        throw std::invalid_argument("queue name '" + name +
                                    "' may only hold letters, digits and . _ - :");
      }
    }
    queues.push_back(name);
  }
  if (queues.empty()) throw std::invalid_argument("at least one queue name is needed");
  return queues;
}

}  // namespace october::celery
