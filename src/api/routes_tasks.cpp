// POST /tasks and GET /tasks/{id}; TaskEndpoints (task_endpoints.cpp) answers them.
#include "api/routes.hpp"
#include "api/submission.hpp"
#include "api/task_endpoints.hpp"

namespace october::api {

namespace {

// JSON Schema of the body, with the limits parse_submission enforces.
std::string submission_schema() {
  using std::to_string;
  return R"({"type": "object", "required": ["name"], "additionalProperties": false,
    "properties": {
      "name": {"type": "string", "description": "registered task name"},
      "args": {"type": "array"},
      "kwargs": {"type": "object"},
      "countdown": {"type": "number", "minimum": 0, "maximum": )" +
         to_string(kMaxCountdownSeconds) + R"(},
      "expires": {"type": "number", "exclusiveMinimum": 0, "maximum": )" +
         to_string(kMaxExpiresSeconds) + R"(},
      "priority": {"type": "integer", "minimum": 0, "maximum": )" +
         to_string(kMaxPriority) + R"(},
      "queue": {"type": "string", "pattern": "^[A-Za-z0-9._:-]{1,)" +
         to_string(kMaxQueueLength) + R"(}$"}}})";
}

}  // namespace

void register_tasks(http::Router& router, TaskEndpoints& tasks) {
  router.add({.method = "POST",
              .path = "/tasks",
              .summary = "Submit a background task (Celery protocol 2): {name, args, kwargs, "
                         "countdown, expires, priority, queue}",
              .error_statuses = {400, 503},
              .request_schema = submission_schema(),
              .handler = [&tasks](http::Request& request, const http::Params&,
                                  const http::Responder& out) { tasks.submit(request, out); }});
  router.add(
      {.method = "GET",
       .path = "/tasks/{id}",
       .summary = "State and result of a task",
       .params = {{.name = "id",
                   .kind = http::ParamSpec::Kind::identifier,
                   .min = 1,
                   .max = 64,
                   .in_path = true,
                   .description = "task id returned by POST /tasks"}},
       .error_statuses = {503},
       .handler = [&tasks](http::Request&, const http::Params& params, const http::Responder& out) {
         tasks.status(params.text("id"), out);
       }});
}

}  // namespace october::api
