#pragma once
// october-api's route groups, one file each (routes_<group>.cpp), and the helpers they share.
// Each group registers its routes as http::Route specs with named fields; Api::add_routes calls
// the groups in the order the OpenAPI document lists them.
#include <boost/json/object.hpp>
#include <chrono>
#include <string>
#include <string_view>

#include "api/api.hpp"
#include "core/compute_pool.hpp"
#include "http/router.hpp"
#include "http/types.hpp"

namespace october::configdir {
class Watcher;
}  // namespace october::configdir

namespace october::api {

class TaskEndpoints;
class CacheEndpoints;

// What every group's handlers are written with.
using http::Params;
using http::Request;
using http::Responder;
using http::Response;

// GET /healthz, /ready, /readyz, /metrics, /version and /: probes and what the process is.
void register_probes(http::Router& router, const ApiState& state);
// The drill switches, the random-fault knobs, GET /panic, and slow, failing and chosen-status
// answers.
void register_drills(http::Router& router, ApiState& state);
// While fault injection is on, every route but the always-available ones answers 500.
void install_fault_guard(http::Router& router, const ApiState& state);
// GET /headers, GET /env and POST /echo.
void register_inspect(http::Router& router, const ApiState& state);
// CPU-heavy handlers, run on the compute pool.
void register_compute(http::Router& router, ComputePool& pool);
// GET /memory/allocate.
void register_memory(http::Router& router, ApiState& state);
// POST /tasks and GET /tasks/{id}.
void register_tasks(http::Router& router, TaskEndpoints& tasks);
// GET, PUT, POST and DELETE /cache/{key} on Redis.
void register_cache(http::Router& router, CacheEndpoints& cache);
// POST /store and GET /store/{hash}: content-addressed files in DATA_DIR.
void register_store(http::Router& router, ApiState& state);
// POST /token and POST /token/validate: HS256 JWTs.
void register_token(http::Router& router, const ApiConfig& config);
// GET /configs; `watcher` is null when CONFIG_DIR is not set.
void register_configs(http::Router& router, const configdir::Watcher* watcher);
// POST /api/echo, forwarding to BACKEND_URLS.
void register_backends(http::Router& router, const Backends& backends);
// Streamed answers: GET /chunked/{seconds} and the WebSocket echo GET /ws/echo.
void register_streams(http::Router& router, ApiState& state);

// Shared by the groups.
http::Response json_response(const boost::json::object& body, int status = 200);
// A 503 (or other) error asking the client to retry in a second.
http::Response retry_later(int status, std::string_view code, std::string_view detail);
double seconds_since(std::chrono::steady_clock::time_point start);
std::chrono::steady_clock::duration seconds(double count);

// Optional query parameters with a default, and the same made a required path segment.
http::ParamSpec integer_param(std::string name, double min, double max, std::string fallback,
                              std::string description);
http::ParamSpec number_param(std::string name, double min, double max, std::string fallback,
                             std::string description);
http::ParamSpec in_path(http::ParamSpec spec);

}  // namespace october::api
