#include "api/api.hpp"

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <stdexcept>

#include "api/routes.hpp"
#include "api/ui.hpp"
#include "configdir/watcher.hpp"
#include "core/build_info.hpp"
#include "crypto/jwt.hpp"
#include "http/openapi.hpp"

namespace october::api {

namespace {

void check_data_dir(const std::string& path) {
  if (path.empty()) return;
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) {
    throw std::invalid_argument("'" + path + "' is not an existing directory");
  }
  if (::access(path.c_str(), W_OK | X_OK) != 0) {
    throw std::invalid_argument("'" + path + "' is not writable by this process");
  }
}

void check_jwt_secret(const std::string& secret) {
  if (!secret.empty() && secret.size() < crypto::kMinHs256SecretBytes) {
    // The value itself stays out of the message: it ends up in logs.
    throw std::invalid_argument("must be empty or at least " +
                                std::to_string(crypto::kMinHs256SecretBytes) +
                                " bytes for HS256, got " + std::to_string(secret.size()));
  }
}

}  // namespace

void add_api_options(config::Options& options, ApiConfig& config) {
  add_common_options(options, config.common);
  options.add_int("COMPUTE_THREADS", &config.compute_threads, 0, 256,
                  "threads for CPU-heavy handlers; 0 means one per core");
  options.add_int("COMPUTE_QUEUE_SIZE", &config.compute_queue_size, 0, 100000,
                  "CPU-heavy requests waiting beyond the running ones before 503");
  options.add_int("COMPUTE_NICE", &config.compute_nice, 0, 19,
                  "scheduling niceness of the compute threads, so I/O threads win the CPU");
  options.add_int("MEMORY_MAX_MB", &config.memory_max_mb, 1, 65536,
                  "ceiling for /memory/allocate, per request and in total");
  options.add_bool("FAIL_HEALTHZ", &config.fail_healthz,
                   "make /healthz answer 500 (rollback drills)");
  options.add_int("BROKER_CALL_THREADS", &config.broker_call_threads, 1, 256,
                  "threads for the Redis calls of POST /tasks and GET /tasks/{id}");
  options.add_int("BROKER_CALL_QUEUE_SIZE", &config.broker_call_queue_size, 0, 100000,
                  "task requests waiting beyond the running ones before 503");
  options.add_int("ECHO_MAX_BYTES", &config.echo_max_bytes, 0, 104857600,
                  "largest body POST /echo answers; beyond it 413 (MAX_BODY_BYTES bounds it too)");
  options.add_bool("START_UNHEALTHY", &config.start_unhealthy,
                   "start with /healthz answering 500 until POST /healthz/enable");
  options.add_bool("START_UNREADY", &config.start_unready,
                   "start with readiness disabled, as after POST /ready/disable");
  options.add_bool("ENABLE_PANIC", &config.enable_panic,
                   "let GET /panic exit the process with status 1 (crash-loop drills)");
  options.add_string("RANDOM_DELAY", &config.random_delay,
                     "delay added to app requests: MIN-MAX or N ms, each 0..60000; empty for none",
                     [](const std::string& raw) { (void)parse_delay_range(raw); });
  options.add_double("RANDOM_ERROR_PERCENT", &config.random_error_percent, 0, 100,
                     "share of app requests answered 500, in percent");
  options.add_string("UI_COLOR", &config.ui_color,
                     "background of the browser page of GET /: #rgb, #rrggbb (with optional "
                     "alpha) or a colour name (" +
                         std::string(ui_color_names()) + ")",
                     validate_ui_color);
  options.add_string("UI_MESSAGE", &config.ui_message,
                     "banner on the browser page of GET / (shown as text, at most " +
                         std::to_string(kMaxUiMessageBytes) + " bytes of UTF-8)",
                     validate_ui_message);
  options.add_string(
      "CONFIG_DIR", &config.config_dir,
      "directory served by GET /configs and re-read when it changes (a mounted ConfigMap); "
      "empty: none",
      [](const std::string& value) {
        std::error_code ec;
        if (!value.empty() && !std::filesystem::is_directory(value, ec)) {
          throw std::invalid_argument("'" + value + "' is not a directory");
        }
      });
  options.add_string("BACKEND_URLS", &config.backend_urls,
                     "comma-separated http:// URLs POST /api/echo forwards to (at most " +
                         std::to_string(kMaxBackends) + "); empty: it echoes the body",
                     [](const std::string& value) { parse_backend_urls(value); });
  options.add_double("BACKEND_TIMEOUT", &config.backend_timeout, 0.1, 60,
                     "seconds each BACKEND_URLS call of POST /api/echo may take");
  options.add_string("PATH_PREFIX", &config.path_prefix,
                     "serve every route under this prefix too (e.g. /october, for an ingress "
                     "that does not rewrite paths); empty: none",
                     [](const std::string& raw) { http::check_path_prefix(raw); });
  options.add_int("WS_MAX_MESSAGE_BYTES", &config.ws_max_message_bytes, 1, 16777216,
                  "largest WebSocket message GET /ws/echo takes; a larger one closes with 1009");
  options.add_double("WS_IDLE_TIMEOUT", &config.ws_idle_timeout_seconds, 1, 3600,
                     "seconds a WebSocket may stay silent: a ping at half, closed at the end");
  add_storage_options(options, config);
}

void add_storage_options(config::Options& options, ApiConfig& config) {
  options.add_int("CACHE_MAX_VALUE_BYTES", &config.cache_max_value_bytes, 1, 16777216,
                  "largest value PUT or POST /cache/{key} stores; larger gets 413");
  options.add_string("DATA_DIR", &config.data_dir,
                     "existing writable directory for POST /store; empty: /store answers 503",
                     check_data_dir);
  options.add_int("STORE_MAX_BYTES", &config.store_max_bytes, 1, 104857600,
                  "largest body POST /store keeps; larger gets 413");
  options.add_int("STORE_MAX_FILES", &config.store_max_files, 1, 1000000,
                  "objects DATA_DIR may hold; a new one beyond gets 507");
  options.add_string("JWT_SECRET", &config.jwt_secret,
                     "HS256 key for /token, at least " +
                         std::to_string(crypto::kMinHs256SecretBytes) +
                         " bytes; empty: /token answers 503",
                     check_jwt_secret);
  options.add_int("JWT_TTL_SECONDS", &config.jwt_ttl_seconds, 1, 2592000,
                  "lifetime of a token from POST /token, and the most a request may ask for");
}

std::vector<http::HttpUrl> parse_backend_urls(const std::string& text) {
  std::vector<http::HttpUrl> urls;
  std::size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    auto comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? comma : comma - start);
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (item.empty()) throw std::invalid_argument("has an empty entry: expected URL,URL,...");
    urls.push_back(http::HttpUrl::parse(item));
    if (urls.size() > kMaxBackends) {
      throw std::invalid_argument("lists more than " + std::to_string(kMaxBackends) + " URLs");
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return urls;
}

Api::Api(const ApiConfig& config, Runtime runtime)
    : state_{.config = config, .runtime = std::move(runtime)} {
  state_.ready_enabled = !config.start_unready;
  state_.healthz_enabled = !config.start_unhealthy;
  state_.random_faults.set(parse_delay_range(config.random_delay), config.random_error_percent);
  auto& registry = state_.runtime.registry;
  registry.callback("october_ready", "1 when /ready answers 200.", metrics::Type::gauge,
                    [this] { return state_.is_ready() ? 1.0 : 0.0; });
  registry.callback("http_connections_open", "Open client connections.", metrics::Type::gauge,
                    [this] { return static_cast<double>(state_.runtime.open_connections()); });
  auto& pool = state_.runtime.pool;
  registry.callback("october_compute_workers", "Threads of the compute pool.", metrics::Type::gauge,
                    [&pool] { return static_cast<double>(pool.threads()); });
  registry.callback("october_compute_busy", "Compute threads running a job now.",
                    metrics::Type::gauge, [&pool] { return static_cast<double>(pool.busy()); });
  registry.callback("october_compute_queue_depth", "Compute jobs waiting for a thread.",
                    metrics::Type::gauge, [&pool] { return static_cast<double>(pool.queued()); });
  registry.callback("october_compute_queue_capacity", "Compute jobs that may wait.",
                    metrics::Type::gauge,
                    [&pool] { return static_cast<double>(pool.queue_capacity()); });
  registry.callback("october_compute_rejections_total",
                    "Requests refused with 503 because the compute pool was full.",
                    metrics::Type::counter,
                    [&pool] { return static_cast<double>(pool.rejections()); });
  registry.callback("october_memory_allocated_bytes", "Bytes held by /memory/allocate now.",
                    metrics::Type::gauge,
                    [this] { return static_cast<double>(state_.memory_held_bytes.load()); });
  add_fault_metrics();
  backends_.urls = parse_backend_urls(config.backend_urls);
  backends_.timeout = seconds(config.backend_timeout);
  if (!backends_.urls.empty()) backends_.client = std::make_unique<http::Client>();
  if (!config.config_dir.empty()) {
    configs_ = std::make_unique<configdir::Watcher>(config.config_dir);
    const configdir::Watcher& configs = *configs_;
    registry.callback("october_config_reloads_total",
                      "Re-reads of CONFIG_DIR after a change was seen.", metrics::Type::counter,
                      [&configs] { return static_cast<double>(configs.reloads()); });
    registry.callback("october_config_files", "Files GET /configs lists now.", metrics::Type::gauge,
                      [&configs] { return static_cast<double>(configs.snapshot()->files.size()); });
    registry.callback("october_config_last_read_timestamp_seconds",
                      "Unix time CONFIG_DIR was last read.", metrics::Type::gauge,
                      [&configs] { return configs.last_read_unix_seconds(); });
  }
}

void Api::add_fault_metrics() {
  auto& registry = state_.runtime.registry;
  const RandomFaults& faults = state_.random_faults;
  registry.callback("october_fault_injection", "1 while POST /fault/enable fails app routes.",
                    metrics::Type::gauge, [this] { return state_.fault_injection ? 1.0 : 0.0; });
  registry.callback("october_random_delay_min_seconds",
                    "Least delay added to app requests (RANDOM_DELAY).", metrics::Type::gauge,
                    [&faults] { return static_cast<double>(faults.delay().min_ms) / 1000.0; });
  registry.callback("october_random_delay_max_seconds",
                    "Largest delay added to app requests (RANDOM_DELAY); 0: none.",
                    metrics::Type::gauge,
                    [&faults] { return static_cast<double>(faults.delay().max_ms) / 1000.0; });
  registry.callback("october_random_error_ratio",
                    "Share of app requests answered 500 (RANDOM_ERROR_PERCENT / 100).",
                    metrics::Type::gauge, [&faults] { return faults.error_percent() / 100.0; });
  registry.callback("october_random_delays_total", "App requests delayed by RANDOM_DELAY.",
                    metrics::Type::counter,
                    [&faults] { return static_cast<double>(faults.delays_injected()); });
  registry.callback("october_random_errors_total",
                    "App requests answered 500 by RANDOM_ERROR_PERCENT.", metrics::Type::counter,
                    [&faults] { return static_cast<double>(faults.errors_injected()); });
}

Api::~Api() = default;

std::string ApiState::not_ready_reason() const {
  if (runtime.draining) return "shutting down: draining connections";
  if (!ready_enabled) return "readiness disabled by POST /ready/disable (or START_UNREADY)";
  if (!runtime.redis.ok()) return "redis unreachable: " + runtime.redis.last_error();
  return {};
}

bool ApiState::is_ready() const { return not_ready_reason().empty(); }

std::string ApiState::liveness_failure() const {
  if (config.fail_healthz) return "FAIL_HEALTHZ is set: liveness fails on purpose";
  if (!healthz_enabled) {
    return "liveness disabled by START_UNHEALTHY or POST /healthz/disable; POST /healthz/enable "
           "turns it back on";
  }
  return {};
}

void Api::add_routes(http::Router& served, TaskEndpoints& tasks, CacheEndpoints& cache) {
  // The groups register here first, so that every app route can be put behind the random
  // faults on its way to the served router, whichever group it comes from.
  http::Router router;
  served.set_prefix(state_.config.path_prefix);
  register_tasks(router, tasks);
  register_probes(router, state_);
  register_drills(router, state_);
  register_compute(router, state_.runtime.pool);
  register_memory(router, state_);
  register_inspect(router, state_);
  register_cache(router, cache);
  register_store(router, state_);
  register_token(router, state_.config);
  register_configs(router, configs_.get());
  register_backends(router, backends_);
  register_streams(router, state_);
  for (const auto& route : router.routes()) {
    served.add(with_random_faults(route, state_.random_faults));
  }
  install_fault_guard(served, state_);
  // Generated once, after every route is known.
  auto document = std::make_shared<std::string>();
  served.add(
      {.method = "GET",
       .path = "/openapi.json",
       .summary = "This document",
       .handler = [document](http::Request&, const http::Params&, const http::Responder& out) {
         http::Response response;
         response.body = *document;
         out.send(std::move(response));
       }});
  *document = http::openapi_document(served, "october-api", build_info::version());
}

}  // namespace october::api
