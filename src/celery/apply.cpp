#include "celery/apply.hpp"

#include <boost/json/string.hpp>
#include <cstdint>
#include <string_view>

#include "celery/keys.hpp"
#include "celery/timestamps.hpp"

namespace october::celery {

namespace json = boost::json;

namespace {

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

// A chain's or group's steps (kwargs.tasks) or a chord's header (a group signature or a
// list), as the JSON they travel in.
json::array steps_of(const json::value* tasks) {
  if (tasks == nullptr) return {};
  if (auto nested = parse_signature(*tasks); nested && nested->subtask_type == "group") {
    return steps_of(nested->kwargs.if_contains("tasks"));
  }
  json::value list = as_list(*tasks);
  json::array steps;
  if (!list.is_array()) return steps;
  for (auto& step : list.get_array()) {
    if (parse_signature(step)) steps.push_back(std::move(step));
  }
  return steps;
}

json::value apply_chain(Applied& out, const Signature& chain, const json::array& partial,
                        const Lineage& lineage, double now, const json::value& chain_rest) {
  json::array steps = steps_of(chain.kwargs.if_contains("tasks"));
  if (steps.empty()) return nullptr;
  // The rest travels reversed, the next step last, after what an enclosing chain still has.
  json::array rest = chain_rest.is_array() ? chain_rest.get_array() : json::array{};
  for (std::size_t i = steps.size(); i-- > 1;) rest.push_back(steps[i]);
  return apply_signature(out, *parse_signature(steps[0]), partial, lineage, now, rest);
}

// Celery 5.2's chord.run on the Redis backend: a new group id for the header, its size set
// before any part can finish, every part carrying the body, which runs after the rest of an
// enclosing chain's steps are handed to it.
json::value apply_chord(Applied& out, const Signature& chord, const json::array& partial,
                        const Lineage& lineage, double now, const json::value& chain_rest) {
  json::array header = steps_of(chord.kwargs.if_contains("header"));
  const json::value* body = chord.kwargs.if_contains("body");
  if (body == nullptr || !parse_signature(*body)) return nullptr;
  json::object body_signature = body->get_object();
  json::value& body_options = body_signature["options"];
  if (!body_options.is_object()) body_options = json::object{};
  auto& options = body_options.get_object();
  options["chain"] = chain_rest.is_array() ? chain_rest : json::array{};
  options["parent_id"] = lineage.parent_id;
  options["root_id"] = lineage.root_id;
  const std::string group_id = make_uuid4();
  out.values.emplace_back("celery-taskset-meta-" + group_id + ".s", std::to_string(header.size()));
  std::vector<Signature> parts;
  for (std::size_t i = 0; i < header.size(); ++i) {
    Signature part = *parse_signature(header[i]);
    part.options["chord"] = body_signature;
    part.options["group_index"] = static_cast<std::int64_t>(i);
    part.options["group_id"] = group_id;
    parts.push_back(std::move(part));
  }
  return apply_group(out, parts, group_id, partial, lineage, now);
}

}  // namespace

const json::value* option(const json::object& options, std::string_view name) {
  const auto* found = options.if_contains(name);
  return found != nullptr && !found->is_null() ? found : nullptr;
}

std::optional<std::string> string_option(const json::object& options, std::string_view name) {
  const auto* found = option(options, name);
  if (found == nullptr || !found->is_string()) return std::nullopt;
  return std::string(found->get_string());
}

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
  const auto* chain = option(options, "chain");
  message.embed = {
      {"callbacks", link != nullptr ? as_list(*link) : json::value(nullptr)},
      {"errbacks", link_error != nullptr ? as_list(*link_error) : json::value(nullptr)},
      {"chain", chain != nullptr && chain->is_array() ? *chain : json::value(nullptr)},
      {"chord", chord != nullptr ? *chord : json::value(nullptr)}};
  return message;
}

Publish publish_of(TaskMessage& message) {
  std::string envelope = encode_envelope(message);
  return {message.routing_key, queue_key(message.routing_key, message.priority),
          std::move(envelope)};
}

json::value apply_signature(Applied& out, const Signature& signature, const json::array& partial,
                            const Lineage& lineage, double now, const json::value& chain_rest) {
  if (signature.subtask_type == "chain") {
    return apply_chain(out, signature, partial, lineage, now, chain_rest);
  }
  if (signature.subtask_type == "chord") {
    return apply_chord(out, signature, partial, lineage, now, chain_rest);
  }
  if (signature.subtask_type == "group") {
    std::vector<Signature> members;
    for (const auto& step : steps_of(signature.kwargs.if_contains("tasks"))) {
      members.push_back(*parse_signature(step));
    }
    return apply_group(out, members,
                       string_option(signature.options, "task_id").value_or(make_uuid4()), partial,
                       lineage, now, chain_rest);
  }
  TaskMessage message = message_for(signature, partial, lineage, now);
  if (!chain_rest.is_null()) message.embed["chain"] = chain_rest;
  out.publishes.push_back(publish_of(message));
  return result_tuple(message.id);
}

json::value apply_group(Applied& out, const std::vector<Signature>& members,
                        const std::string& group_id, const json::array& partial,
                        const Lineage& lineage, double now, const json::value& chain_rest) {
  json::array results;
  for (Signature member : members) {
    if (option(member.options, "group_id") == nullptr) member.options["group_id"] = group_id;
    json::value result = apply_signature(out, member, partial, lineage, now, chain_rest);
    if (!result.is_null()) results.push_back(std::move(result));
  }
  return json::array{json::array{group_id, nullptr}, std::move(results)};
}

json::array apply_callbacks(Applied& out, const std::vector<Signature>& signatures,
                            const json::array& partial, const Lineage& lineage, double now) {
  json::array children;
  auto apply = [&](json::value child) {
    if (!child.is_null()) children.push_back(std::move(child));
  };
  if (signatures.size() == 1) {
    apply(apply_signature(out, signatures.front(), partial, lineage, now));
    return children;
  }
  // The tracer applies group callbacks each on its own and gathers the rest in one group.
  std::vector<Signature> gathered;
  for (const auto& signature : signatures) {
    if (signature.subtask_type == "group") {
      apply(apply_signature(out, signature, partial, lineage, now));
    } else {
      gathered.push_back(signature);
    }
  }
  if (!gathered.empty()) apply(apply_group(out, gathered, make_uuid4(), partial, lineage, now));
  return children;
}

}  // namespace october::celery
