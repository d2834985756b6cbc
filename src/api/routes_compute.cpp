// CPU-heavy handlers: each validates on the I/O thread, computes on the compute pool, and answers
// 503 at once when the pool is full.
#include <boost/json/object.hpp>
#include <functional>
#include <memory>

#include "api/routes.hpp"
#include "core/log.hpp"
#include "tasks/workloads.hpp"

namespace october::api {

namespace {

// Runs `job` on the pool and sends what it returns; 503 at once when the pool is full.
void offload(ComputePool& pool, const Responder& out, std::function<Response()> job) {
  auto response = std::make_shared<Response>();
  bool accepted = pool.try_submit(
      [response, job = std::move(job)] {
        try {
          *response = job();
        } catch (const std::exception& e) {
          log::error("compute job failed", {{"error", e.what()}});
          *response =
              http::json_error(500, "internal_error", "the computation failed unexpectedly");
        }
      },
      [out, response] { out.send(std::move(*response)); });
  if (!accepted) {
    out.send(retry_later(503, "overloaded",
                         "the compute pool is full (" + std::to_string(pool.threads()) +
                             " threads busy, " + std::to_string(pool.queue_capacity()) +
                             " queued); retry later"));
  }
}

// offload() for a computation whose answer ends with how long it took.
void offload_timed(ComputePool& pool, const Responder& out,
                   std::function<boost::json::object()> compute) {
  offload(pool, out, [compute = std::move(compute)] {
    auto start = std::chrono::steady_clock::now();
    boost::json::object body = compute();
    body["duration_seconds"] = seconds_since(start);
    return json_response(body);
  });
}

// Every compute route is a GET that answers 503 when the pool is full.
void add(http::Router& router, http::Route route) {
  route.method = "GET";
  route.error_statuses = {503};
  router.add(std::move(route));
}

}  // namespace

void register_compute(http::Router& router, ComputePool& pool) {
  add(router, {.path = "/compute/prime",
               .summary = "The n-th prime (primesieve)",
               .params = {integer_param("n", 1, 1e9, "1000", "which prime, 1-based")},
               .handler = [&pool](Request&, const Params& params, const Responder& out) {
                 const auto n = static_cast<std::uint64_t>(params.integer("n"));
                 offload_timed(pool, out, [n] {
                   return boost::json::object{{"nth_prime", n}, {"prime_number", nth_prime(n)}};
                 });
               }});
  add(router,
      {.path = "/compute/fibonacci",
       .summary = "The n-th Fibonacci number",
       .params = {integer_param("n", 0, 92, "10", "index, F(0)=0"),
                  {.name = "method",
                   .kind = http::ParamSpec::Kind::choice,
                   .default_value = "iterative",
                   .choices = {"iterative", "recursive"},
                   .description = "recursive is exponential on purpose, limited to n <= 42"}},
       .handler = [&pool](Request&, const Params& params, const Responder& out) {
         const auto n = static_cast<unsigned>(params.integer("n"));
         const bool recursive = params.text("method") == "recursive";
         if (recursive && n > 42) {
           out.send(http::json_error(
               400, "invalid_parameter",
               "n must be an integer between 0 and 42 with method=recursive, got '" +
                   std::to_string(n) + "'"));
           return;
         }
         offload_timed(pool, out, [n, recursive] {
           std::uint64_t value = recursive ? fibonacci_recursive(n) : fibonacci_iterative(n);
           return boost::json::object{{"n", n},
                                      {"method", recursive ? "recursive" : "iterative"},
                                      {"fibonacci_number", value}};
         });
       }});
  add(router,
      {.path = "/compute/hash",
       .summary = "SHA-256 chain",
       .params = {integer_param("iterations", 1, 1e6, "1000", "digests to compute"),
                  integer_param("data_size_kb", 1, 10000, "1", "size of the first input in KiB")},
       .handler = [&pool](Request&, const Params& params, const Responder& out) {
         const auto iterations = static_cast<std::uint64_t>(params.integer("iterations"));
         const auto size_kb = static_cast<std::uint64_t>(params.integer("data_size_kb"));
         offload_timed(pool, out, [iterations, size_kb] {
           return boost::json::object{{"iterations", iterations},
                                      {"data_size_kb", size_kb},
                                      {"hash", sha256_chain(iterations, size_kb)}};
         });
       }});
  add(router, {.path = "/burn",
               .summary = "Spin one compute thread",
               .params = {number_param("seconds", 0.1, 60, "1", "wall-clock seconds to spin")},
               .handler = [&pool](Request&, const Params& params, const Responder& out) {
                 const double spin = params.number("seconds");
                 const auto* stop = &pool.stop_flag();
                 offload(pool, out, [spin, stop] {
                   double cpu = burn_cpu(spin, stop);
                   return json_response({{"burned_seconds", spin}, {"cpu_seconds", cpu}});
                 });
               }});
}

}  // namespace october::api
