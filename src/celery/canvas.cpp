#include "celery/canvas.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/string.hpp>

#include "celery/keys.hpp"
#include "celery/timestamps.hpp"
#include "core/json_text.hpp"

namespace october::celery {

namespace json = boost::json;

namespace {

bool propagates(std::string_view state) { return state == "FAILURE" || state == "REVOKED"; }

}  // namespace

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
    Applied applied;
    apply_signature(applied, *body, json::array{std::move(results)}, part.lineage, now);
    finish.publishes = std::move(applied.publishes);
    finish.values = std::move(applied.values);
    return finish;
  }
  const std::string body_id = string_option(body->options, "task_id").value_or(make_uuid4());
  TaskException chord_error{"ChordError", "celery.exceptions", json::array{*error},
                            "Traceback (most recent call last):\n  File \"october-worker\", in "
                            "chord join\ncelery.exceptions.ChordError: " +
                                *error + "\n"};
  finish.records.emplace_back(body_id, failure_record(body_id, TaskState::failure, chord_error));
  if (const json::value* link_error = option(body->options, "link_error")) {
    Applied applied;
    apply_group(applied, parse_signatures(*link_error), make_uuid4(), json::array{body_id},
                Lineage{body_id, body_id, true}, now);
    finish.publishes = std::move(applied.publishes);
    finish.values = std::move(applied.values);
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
  Applied applied;
  if (state == TaskState::success) {
    auto callbacks = parse_signatures(
        message.embed.contains("callbacks") ? message.embed.at("callbacks") : none);
    out.children = apply_callbacks(applied, callbacks, json::array{result}, lineage, now);
    if (chain != nullptr && chain->is_array() && !chain->get_array().empty()) {
      // The chain travels reversed, so the next step is the last element.
      json::array rest = chain->get_array();
      const json::value next_value = rest.back();
      rest.pop_back();
      if (auto next = parse_signature(next_value)) {
        json::value child =
            apply_signature(applied, *next, json::array{result}, lineage, now, std::move(rest));
        if (!child.is_null()) out.children.push_back(std::move(child));
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
    if (!errbacks.empty()) {
      apply_group(applied, errbacks, make_uuid4(), json::array{message.id}, lineage, now);
    }
  }
  out.publishes = std::move(applied.publishes);
  out.values = std::move(applied.values);
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
