#include "celery/canvas.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/string.hpp>

#include "celery/keys.hpp"
#include "celery/timestamps.hpp"
#include "core/json_text.hpp"

namespace october::celery {

namespace json = boost::json;

namespace {

const json::value* option(const json::object& options, std::string_view name) {
  const auto* found = options.if_contains(name);
  return found != nullptr && !found->is_null() ? found : nullptr;
}

std::optional<std::string> string_option(const json::object& options, std::string_view name) {
  const auto* found = option(options, name);
  if (found == nullptr || !found->is_string()) return std::nullopt;
  return std::string(found->get_string());
}

std::optional<double> number_option(const json::object& options, std::string_view name) {
  const auto* found = option(options, name);
  if (found == nullptr) return std::nullopt;
  if (found->is_int64()) return static_cast<double>(found->get_int64());
  if (found->is_uint64()) return static_cast<double>(found->get_uint64());
  if (found->is_double()) return found->get_double();
  return std::nullopt;
}

// kombu's maybe_list: link and link_error hold one signature or a list of them.
json::value as_list(const json::value& value) {
  if (value.is_null() || value.is_array()) return value;
  return json::array{value};
}

json::array result_tuple(const std::string& id) {
  return json::array{json::array{id, nullptr}, nullptr};
}

bool propagates(std::string_view state) { return state == "FAILURE" || state == "REVOKED"; }

// Each signature applied with `partial` prepended, as the tracer applies callbacks and the
// backend errbacks: alone, or as one group (a shared group id) when `as_group`. Returns the
// tuple the parent's record lists among its children. Signatures of groups, chains and
// chords are not applied here (see docs/celery-compatibility.md); `skipped` names them.
json::value apply_all(std::vector<Publish>& publishes, std::vector<std::string>& skipped,
                      const std::vector<Signature>& signatures, const json::array& partial,
                      const Lineage& lineage, double now, bool as_group) {
  const std::string group_id = as_group ? make_uuid4() : std::string();
  json::array members;
  for (const auto& signature : signatures) {
    if (!signature.subtask_type.empty()) {
      skipped.push_back(signature.task);
      continue;
    }
    TaskMessage message = message_for(signature, partial, lineage, now);
    if (as_group && !message.group) message.group = group_id;
    publishes.push_back(publish_of(message));
    members.push_back(result_tuple(message.id));
  }
  if (members.empty()) return nullptr;
  if (!as_group) return members.front();
  return json::array{json::array{group_id, nullptr}, members};
}

}  // namespace

std::optional<Signature> parse_signature(const json::value& value) {
  if (!value.is_object()) return std::nullopt;
  const auto& fields = value.get_object();
  const auto* task = fields.if_contains("task");
  if (task == nullptr || !task->is_string() || task->get_string().empty()) return std::nullopt;
  Signature signature;
  signature.task = std::string(task->get_string());
  if (const auto* args = fields.if_contains("args"); args != nullptr && args->is_array()) {
    signature.args = args->get_array();
  }
  if (const auto* kwargs = fields.if_contains("kwargs"); kwargs != nullptr && kwargs->is_object()) {
    signature.kwargs = kwargs->get_object();
  }
  if (const auto* options = fields.if_contains("options");
      options != nullptr && options->is_object()) {
    signature.options = options->get_object();
  }
  if (const auto* type = fields.if_contains("subtask_type"); type != nullptr && type->is_string()) {
    signature.subtask_type = std::string(type->get_string());
  }
  if (const auto* immutable = fields.if_contains("immutable");
      immutable != nullptr && immutable->is_bool()) {
    signature.immutable = immutable->get_bool();
  }
  return signature;
}

std::vector<Signature> parse_signatures(const json::value& value) {
  std::vector<Signature> signatures;
  const json::value list = as_list(value);
  if (!list.is_array()) return signatures;
  for (const auto& item : list.get_array()) {
    if (auto signature = parse_signature(item)) signatures.push_back(std::move(*signature));
  }
  return signatures;
}

json::array merged_args(const Signature& signature, const json::array& partial) {
  if (signature.immutable || partial.empty()) return signature.args;
  json::array args = partial;
  for (const auto& arg : signature.args) args.push_back(arg);
  return args;
}

TaskMessage message_for(const Signature& signature, const json::array& partial_args,
                        const Lineage& lineage, double now) {
  const json::object& options = signature.options;
  TaskMessage message;
  message.task = signature.task;
  message.args = merged_args(signature, partial_args);
  message.kwargs = signature.kwargs;
  message.id = string_option(options, "task_id").value_or(make_uuid4());
  auto parent_id = string_option(options, "parent_id");
  auto root_id = string_option(options, "root_id");
  message.parent_id = lineage.overrides || !parent_id ? lineage.parent_id : *parent_id;
  message.root_id = lineage.overrides || !root_id ? lineage.root_id : *root_id;
  message.group = string_option(options, "group_id");
  if (const auto* index = option(options, "group_index"); index != nullptr && index->is_int64()) {
    message.group_index = index->get_int64();
  }
  // Routing as the default router does it on Redis: a queue name is the routing key, and
  // the exchange stays the default "".
  message.routing_key = string_option(options, "queue")
                            .value_or(string_option(options, "routing_key").value_or("celery"));
  if (auto priority = number_option(options, "priority")) {
    message.priority = static_cast<std::int64_t>(*priority);
  }
  if (auto countdown = number_option(options, "countdown")) {
    message.eta = format_iso8601(now + *countdown, true);
  } else if (auto eta = string_option(options, "eta")) {
    message.eta = *eta;
  }
  if (auto expires = number_option(options, "expires")) {
    message.expires = format_iso8601(now + *expires, true);
  } else if (auto at = string_option(options, "expires")) {
    message.expires = *at;
  }
  message.hard_time_limit = number_option(options, "time_limit");
  message.soft_time_limit = number_option(options, "soft_time_limit");
  if (auto reply_to = string_option(options, "reply_to")) message.reply_to = *reply_to;
  if (const auto* ignore = option(options, "ignore_result");
      ignore != nullptr && ignore->is_bool()) {
    message.ignore_result = ignore->get_bool();
  }
  const auto* link = option(options, "link");
  const auto* link_error = option(options, "link_error");
  const auto* chord = option(options, "chord");
  message.embed = {
      {"callbacks", link != nullptr ? as_list(*link) : json::value(nullptr)},
      {"errbacks", link_error != nullptr ? as_list(*link_error) : json::value(nullptr)},
      {"chain", nullptr},
      {"chord", chord != nullptr ? *chord : json::value(nullptr)}};
  return message;
}

Publish publish_of(TaskMessage& message) {
  std::string envelope = encode_envelope(message);
  return {message.routing_key, queue_key(message.routing_key, message.priority),
          std::move(envelope)};
}

std::string chord_key(std::string_view group_id, std::string_view suffix) {
  return "celery-taskset-meta-" + std::string(group_id) + std::string(suffix);
}

std::string chord_member(std::string_view task_id, TaskState state, const json::value& result) {
  return to_json(json::array{1, task_id, state_name(state), result});
}

std::string exception_repr(const json::value& exception) {
  if (!exception.is_object()) return python_repr(exception);
  const auto& fields = exception.get_object();
  const auto* type = fields.if_contains("exc_type");
  std::string out = type != nullptr && type->is_string() ? std::string(type->get_string())
                                                         : std::string("Exception");
  out += '(';
  if (const auto* args = fields.if_contains("exc_message"); args != nullptr) {
    if (args->is_array()) {
      // BaseException.__repr__: the args joined, no trailing comma for a single one.
      const auto& items = args->get_array();
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += ", ";
        out += python_repr(items[i]);
      }
    } else {
      out += python_repr(*args);
    }
  }
  return out + ')';
}

ChordFinish finish_chord(const ChordPart& part, const std::vector<std::string>& members,
                         double now) {
  ChordFinish finish;
  auto body = parse_signature(part.body);
  if (!body) return finish;
  json::array results;
  std::optional<std::string> error;
  for (const auto& member : members) {
    json::error_code ec;
    json::value parsed = json::parse(member, ec);
    if (ec || !parsed.is_array() || parsed.get_array().size() != 4) continue;
    const auto& entry = parsed.get_array();
    const std::string state = entry[2].is_string() ? std::string(entry[2].get_string()) : "";
    if (propagates(state)) {
      // The first failed part in header order names the error, as Celery's join raises there.
      const std::string id = entry[1].is_string() ? std::string(entry[1].get_string()) : "";
      error = "Dependency " + id + " raised " + exception_repr(entry[3]);
      break;
    }
    results.push_back(entry[3]);
  }
  if (!error) {
    TaskMessage message = message_for(*body, json::array{std::move(results)}, part.lineage, now);
    finish.publishes.push_back(publish_of(message));
    return finish;
  }
  const std::string body_id = string_option(body->options, "task_id").value_or(make_uuid4());
  TaskException chord_error{"ChordError", "celery.exceptions", json::array{*error},
                            "Traceback (most recent call last):\n  File \"october-worker\", in "
                            "chord join\ncelery.exceptions.ChordError: " +
                                *error + "\n"};
  finish.records.emplace_back(body_id, failure_record(body_id, TaskState::failure, chord_error));
  std::vector<std::string> skipped;
  const json::value* link_error = option(body->options, "link_error");
  if (link_error != nullptr) {
    apply_all(finish.publishes, skipped, parse_signatures(*link_error), json::array{body_id},
              Lineage{body_id, body_id, true}, now, true);
  }
  return finish;
}

FollowUps follow_ups(const TaskMessage& message, TaskState state, const json::value& result,
                     const TaskException& exception, double now) {
  FollowUps out;
  const std::string root = message.root_id.empty() ? message.id : message.root_id;
  const Lineage lineage{message.id, root, true};
  const json::value* chain = message.embed.if_contains("chain");
  const json::value none;
  if (state == TaskState::success) {
    auto callbacks = parse_signatures(
        message.embed.contains("callbacks") ? message.embed.at("callbacks") : none);
    json::value child = apply_all(out.publishes, out.skipped, callbacks, json::array{result},
                                  lineage, now, callbacks.size() > 1);
    if (!child.is_null()) out.children.push_back(std::move(child));
    if (chain != nullptr && chain->is_array() && !chain->get_array().empty()) {
      // The chain travels reversed, so the next link is the last element.
      json::array rest = chain->get_array();
      const json::value next_value = rest.back();
      rest.pop_back();
      auto next = parse_signature(next_value);
      if (next && next->subtask_type.empty()) {
        TaskMessage step = message_for(*next, json::array{result}, lineage, now);
        step.embed["chain"] = std::move(rest);
        out.publishes.push_back(publish_of(step));
        out.children.push_back(result_tuple(step.id));
      } else if (next) {
        out.skipped.push_back(next->task);
      }
    }
  } else if (state == TaskState::failure) {
    if (chain != nullptr && chain->is_array()) {
      // Whoever waits on the chain's last result must see the failure, not wait forever.
      for (const auto& link : chain->get_array()) {
        auto signature = parse_signature(link);
        if (!signature) continue;
        auto id = string_option(signature->options, "task_id");
        if (!id) continue;
        RecordLinks links;
        links.group_id = string_option(signature->options, "group_id");
        out.records.emplace_back(*id, failure_record(*id, state, exception, links));
      }
    }
    auto errbacks =
        parse_signatures(message.embed.contains("errbacks") ? message.embed.at("errbacks") : none);
    apply_all(out.publishes, out.skipped, errbacks, json::array{message.id}, lineage, now, true);
  }
  const json::value* chord = message.embed.if_contains("chord");
  const bool joins =
      state == TaskState::success || state == TaskState::failure || state == TaskState::revoked;
  const json::value outcome = state == TaskState::success ? result : exception_value(exception);
  if (joins && chord != nullptr && chord->is_object() && message.group) {
    out.chord =
        ChordPart{*message.group, message.group_index, chord_member(message.id, state, outcome),
                  *chord, Lineage{message.id, root, false}};
  } else if (state == TaskState::failure && chain != nullptr && chain->is_array()) {
    // A chain in a chord's header: its last link holds the chord, and would never run.
    for (const auto& link : chain->get_array()) {
      auto signature = parse_signature(link);
      if (!signature) continue;
      auto id = string_option(signature->options, "task_id");
      auto group_id = string_option(signature->options, "group_id");
      const json::value* body = option(signature->options, "chord");
      if (!id || !group_id || body == nullptr || !body->is_object()) continue;
      std::optional<std::int64_t> index;
      if (const auto* at = option(signature->options, "group_index");
          at != nullptr && at->is_int64()) {
        index = at->get_int64();
      }
      out.chord = ChordPart{*group_id, index, chord_member(*id, state, outcome), *body,
                            Lineage{message.id, root, false}};
      break;
    }
  }
  return out;
}

}  // namespace october::celery
