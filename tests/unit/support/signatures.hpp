#pragma once
// Celery signatures as they travel in a message's embed, built for the canvas unit tests.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string_view>
#include <utility>

namespace october::testing {

// A task signature: {"task", "args", "kwargs": {}, "options", "subtask_type": null, "immutable"}.
inline boost::json::value sig(std::string_view task, boost::json::array args,
                              boost::json::object options = {}, bool immutable = false) {
  return boost::json::object{{"task", task},
                             {"args", std::move(args)},
                             {"kwargs", boost::json::object{}},
                             {"options", std::move(options)},
                             {"subtask_type", nullptr},
                             {"immutable", immutable}};
}

}  // namespace october::testing
