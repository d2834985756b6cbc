#include "api/api.hpp"

#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <memory>
#include <new>

#include "core/build_info.hpp"
#include "core/json_text.hpp"
#include "core/log.hpp"
#include "http/probes.hpp"
#include "tasks/workloads.hpp"

namespace october::api {

namespace json = boost::json;
using http::json_error;
using http::ParamSpec;
using http::Response;
using Kind = ParamSpec::Kind;

namespace {

Response json_response(const json::object& body, int status = 200) {
  Response response;
  response.status = status;
  response.body = to_json(body);
  return response;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

ParamSpec integer(std::string name, double min, double max, std::string fallback,
                  std::string description) {
  return {.name = std::move(name),
          .kind = Kind::integer,
          .min = min,
          .max = max,
          .default_value = std::move(fallback),
          .description = std::move(description)};
}

ParamSpec number(std::string name, double min, double max, std::string fallback,
                 std::string description) {
  return {.name = std::move(name),
          .kind = Kind::number,
          .min = min,
          .max = max,
          .default_value = std::move(fallback),
          .description = std::move(description)};
}

ParamSpec in_path(ParamSpec spec) {
  spec.in_path = true;
  spec.default_value.reset();
  return spec;
}

std::string host_name() {
  std::array<char, 256> name{};
  if (gethostname(name.data(), name.size() - 1) != 0) return "unknown";
  return name.data();
}

std::size_t thread_count() {
  std::error_code ec;
  std::size_t count = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/task", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++count;
  }
  return count;
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
}

Api::Api(const ApiConfig& config, Runtime runtime) : config_(config), runtime_(std::move(runtime)) {
  auto& registry = runtime_.registry;
  registry.callback("october_ready", "1 when /ready answers 200.", metrics::Type::gauge,
                    [this] { return is_ready() ? 1.0 : 0.0; });
  registry.callback("http_connections_open", "Open client connections.", metrics::Type::gauge,
                    [this] { return static_cast<double>(runtime_.open_connections()); });
  auto& pool = runtime_.pool;
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
                    [this] { return static_cast<double>(memory_held_bytes_.load()); });
}

bool Api::is_ready() const { return ready_enabled_ && !runtime_.draining && runtime_.redis.ok(); }

void Api::healthz(const Responder& out) const {
  if (config_.fail_healthz) {
    out.send(json_error(500, "unhealthy", "FAIL_HEALTHZ is set: liveness fails on purpose"));
    return;
  }
  out.send(http::liveness_response());
}

void Api::ready(const Responder& out) const {
  std::string reason;
  if (runtime_.draining) {
    reason = "shutting down: draining connections";
  } else if (!ready_enabled_) {
    reason = "readiness disabled by POST /ready/disable";
  } else if (!runtime_.redis.ok()) {
    reason = "redis unreachable: " + runtime_.redis.last_error();
  }
  out.send(http::readiness_response(reason));
}

void Api::root(const Responder& out) const {
  out.send(json_response(
      {{"service", "october-api"},
       {"version", build_info::version()},
       {"revision", build_info::revision()},
       {"hostname", host_name()},
       {"uptime_seconds", seconds_since(started_)},
       {"threads", thread_count()},
       {"connections", runtime_.open_connections()},
       {"requests_in_flight", static_cast<std::int64_t>(runtime_.requests_in_flight())},
       {"compute_threads", runtime_.pool.threads()},
       {"compute_queue_depth", runtime_.pool.queued()},
       {"ready", is_ready()},
       {"fault_injection", fault_injection_.load()}}));
}

void Api::offload(const Responder& out, std::function<Response()> job) {
  auto response = std::make_shared<Response>();
  bool accepted = runtime_.pool.try_submit(
      [response, job = std::move(job)] {
        try {
          *response = job();
        } catch (const std::exception& e) {
          log::error("compute job failed", {{"error", e.what()}});
          *response = json_error(500, "internal_error", "the computation failed unexpectedly");
        }
      },
      [out, response] { out.send(std::move(*response)); });
  if (!accepted) {
    auto refused = json_error(
        503, "overloaded",
        "the compute pool is full (" + std::to_string(runtime_.pool.threads()) + " threads busy, " +
            std::to_string(runtime_.pool.queue_capacity()) + " queued); retry later");
    refused.headers.emplace_back("Retry-After", "1");
    out.send(std::move(refused));
  }
}

void Api::memory_allocate(const Params& params, const Responder& out) {
  const std::int64_t size_mb = params.integer("size_mb");
  const double hold = params.number("duration_seconds");
  const std::int64_t ceiling_mb = std::min<std::int64_t>(2000, config_.memory_max_mb);
  if (size_mb > ceiling_mb) {
    out.send(json_error(400, "invalid_parameter",
                        "size_mb must be an integer between 1 and " + std::to_string(ceiling_mb) +
                            " (MEMORY_MAX_MB), got '" + std::to_string(size_mb) + "'"));
    return;
  }
  const std::int64_t bytes = size_mb * 1024 * 1024;
  const std::int64_t ceiling = config_.memory_max_mb * 1024 * 1024;
  if (memory_held_bytes_.fetch_add(bytes) + bytes > ceiling) {
    memory_held_bytes_.fetch_sub(bytes);
    auto response = json_error(503, "memory_ceiling",
                               "allocations in progress would pass MEMORY_MAX_MB (" +
                                   std::to_string(config_.memory_max_mb) + " MB); retry later");
    response.headers.emplace_back("Retry-After", "1");
    out.send(std::move(response));
    return;
  }
  // Touching the pages costs CPU, so it runs on the pool; the hold is a timer on the I/O thread.
  auto release = [this, bytes] { memory_held_bytes_.fetch_sub(bytes); };
  auto block = std::make_shared<std::shared_ptr<char[]>>();
  bool accepted = runtime_.pool.try_submit(
      [block, bytes] {
        block->reset(new (std::nothrow) char[static_cast<std::size_t>(bytes)]);
        if (!*block) return;
        const long page = sysconf(_SC_PAGESIZE);
        for (std::int64_t offset = 0; offset < bytes; offset += page) (*block)[offset] = 1;
      },
      [out, block, hold, size_mb, release] {
        if (!*block) {
          release();
          auto response = json_error(503, "out_of_memory",
                                     "could not allocate " + std::to_string(size_mb) + " MB");
          response.headers.emplace_back("Retry-After", "1");
          out.send(std::move(response));
          return;
        }
        out.after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(hold)),
                  [out, block, release, size_mb, hold] {
                    block->reset();
                    release();
                    out.send(json_response({{"allocated_mb", size_mb}, {"held_seconds", hold}}));
                  });
      });
  if (!accepted) {
    release();
    auto response = json_error(503, "overloaded", "the compute pool is full; retry later");
    response.headers.emplace_back("Retry-After", "1");
    out.send(std::move(response));
  }
}

void Api::add_routes(http::Router& router) {
  router.set_guard(
      [this](const http::Route& route, const http::Request&) -> std::optional<Response> {
        if (fault_injection_ && !route.always_available) {
          return json_error(500, "fault_injected",
                            "fault injection is enabled; POST /fault/disable to turn it off");
        }
        return std::nullopt;
      });
  auto add = [&router](const std::string& method, const std::string& path,
                       const std::string& summary, const std::vector<ParamSpec>& params,
                       auto handler, bool always = false, const std::vector<int>& errors = {}) {
    router.add({.method = method,
                .path = path,
                .summary = summary,
                .params = params,
                .handler = std::move(handler),
                .always_available = always,
                .error_statuses = errors});
  };
  using http::Request;

  add("GET", "/healthz", "Liveness: answers from the I/O thread", {},
      [this](Request&, const Params&, const Responder& out) { healthz(out); }, true, {500});
  for (const char* path : {"/ready", "/readyz"}) {
    add("GET", path, "Readiness: Redis answers PING and the process is not draining", {},
        [this](Request&, const Params&, const Responder& out) { ready(out); }, true, {503});
  }
  for (bool enable : {false, true}) {
    add(
        "POST", enable ? "/ready/enable" : "/ready/disable", "Readiness drill switch", {},
        [this, enable](Request&, const Params&, const Responder& out) {
          ready_enabled_ = enable;
          log::info("readiness switch", {{"ready_enabled", enable}});
          out.send(json_response({{"ready_enabled", enable}}));
        },
        true);
    add(
        "POST", enable ? "/fault/enable" : "/fault/disable", "Fault-injection drill switch", {},
        [this, enable](Request&, const Params&, const Responder& out) {
          fault_injection_ = enable;
          log::info("fault injection switch", {{"fault_injection", enable}});
          out.send(json_response({{"fault_injection", enable}}));
        },
        true);
  }
  add(
      "GET", "/metrics", "Prometheus metrics", {},
      [this](Request&, const Params&, const Responder& out) {
        out.send(http::metrics_response(runtime_.registry));
      },
      true);

  add("GET", "/compute/prime", "The n-th prime (primesieve)",
      {integer("n", 1, 1e9, "1000", "which prime, 1-based")},
      [this](Request&, const Params& params, const Responder& out) {
        const auto n = static_cast<std::uint64_t>(params.integer("n"));
        offload(out, [n] {
          auto start = std::chrono::steady_clock::now();
          std::uint64_t prime = nth_prime(n);
          return json_response({{"nth_prime", n},
                                {"prime_number", prime},
                                {"duration_seconds", seconds_since(start)}});
        });
      },
      false, {503});
  add("GET", "/compute/fibonacci", "The n-th Fibonacci number",
      {integer("n", 0, 92, "10", "index, F(0)=0"),
       {.name = "method",
        .kind = Kind::choice,
        .default_value = "iterative",
        .choices = {"iterative", "recursive"},
        .description = "recursive is exponential on purpose, limited to n <= 42"}},
      [this](Request&, const Params& params, const Responder& out) {
        const auto n = static_cast<unsigned>(params.integer("n"));
        const bool recursive = params.text("method") == "recursive";
        if (recursive && n > 42) {
          out.send(json_error(400, "invalid_parameter",
                              "n must be an integer between 0 and 42 with method=recursive, got '" +
                                  std::to_string(n) + "'"));
          return;
        }
        offload(out, [n, recursive] {
          auto start = std::chrono::steady_clock::now();
          std::uint64_t value = recursive ? fibonacci_recursive(n) : fibonacci_iterative(n);
          return json_response({{"n", n},
                                {"method", recursive ? "recursive" : "iterative"},
                                {"fibonacci_number", value},
                                {"duration_seconds", seconds_since(start)}});
        });
      },
      false, {503});
  add("GET", "/compute/hash", "SHA-256 chain",
      {integer("iterations", 1, 1e6, "1000", "digests to compute"),
       integer("data_size_kb", 1, 10000, "1", "size of the first input in KiB")},
      [this](Request&, const Params& params, const Responder& out) {
        const auto iterations = static_cast<std::uint64_t>(params.integer("iterations"));
        const auto size_kb = static_cast<std::uint64_t>(params.integer("data_size_kb"));
        offload(out, [iterations, size_kb] {
          auto start = std::chrono::steady_clock::now();
          std::string digest = sha256_chain(iterations, size_kb);
          return json_response({{"iterations", iterations},
                                {"data_size_kb", size_kb},
                                {"hash", digest},
                                {"duration_seconds", seconds_since(start)}});
        });
      },
      false, {503});
  add("GET", "/burn", "Spin one compute thread",
      {number("seconds", 0.1, 60, "1", "wall-clock seconds to spin")},
      [this](Request&, const Params& params, const Responder& out) {
        const double seconds = params.number("seconds");
        const auto* stop = &runtime_.pool.stop_flag();
        offload(out, [seconds, stop] {
          double cpu = burn_cpu(seconds, stop);
          return json_response({{"burned_seconds", seconds}, {"cpu_seconds", cpu}});
        });
      },
      false, {503});
  auto sleep_then_answer = [](const std::string& name) {
    return [name](Request&, const Params& params, const Responder& out) {
      const double delay = params.number(name);
      out.after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(delay)),
                [out, delay] {
                  out.send(json_response({{"delay_seconds", delay}}));
                });
    };
  };
  add("GET", "/slow", "Answer after an async timer (holds no thread)",
      {number("delay", 0.1, 30, "1", "seconds before the answer")}, sleep_then_answer("delay"));
  add("GET", "/delay/{seconds}", "Answer after an async timer",
      {in_path(number("seconds", 0, 30, "", "seconds before the answer"))},
      sleep_then_answer("seconds"));
  add("GET", "/memory/allocate", "Allocate, touch and hold memory",
      {integer("size_mb", 1, 2000, "100", "MiB to allocate, at most MEMORY_MAX_MB"),
       number("duration_seconds", 0, 300, "5", "seconds to hold it")},
      [this](Request&, const Params& params, const Responder& out) {
        memory_allocate(params, out);
      },
      false, {503});
  add("GET", "/error-test", "Always 500", {},
      [](Request&, const Params&, const Responder& out) {
        out.send(json_error(500, "internal_error", "intentional error from /error-test"));
      },
      false, {500});
  add("GET", "/status/{code}", "Answer with the given status",
      {in_path(integer("code", 200, 599, "", "HTTP status to answer with"))},
      [](Request&, const Params& params, const Responder& out) {
        auto code = params.integer("code");
        out.send(json_response({{"status", code}}, static_cast<int>(code)));
      });
  add("GET", "/version", "Version and revision", {},
      [](Request&, const Params&, const Responder& out) {
        out.send(json_response({{"service", "october-api"},
                                {"version", build_info::version()},
                                {"revision", build_info::revision()}}));
      });
  add("GET", "/", "Runtime information", {},
      [this](Request&, const Params&, const Responder& out) { root(out); });
  // Generated once, after every route is known.
  auto document = std::make_shared<std::string>();
  add("GET", "/openapi.json", "This document", {},
      [document](Request&, const Params&, const Responder& out) {
        Response response;
        response.body = *document;
        out.send(std::move(response));
      });
  *document = http::openapi_document(router, "october-api", build_info::version());
}

}  // namespace october::api
