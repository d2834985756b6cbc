// GET /memory/allocate: allocate, touch and hold memory, within MEMORY_MAX_MB per request and in
// total across the allocations in progress.
#include <unistd.h>

#include <memory>
#include <new>

#include "api/routes.hpp"

namespace october::api {

namespace {

// The most one request may ask for, whatever MEMORY_MAX_MB says.
constexpr std::int64_t kRequestMaxMb = 2000;
constexpr std::int64_t kMiB = std::int64_t{1024} * 1024;

void allocate(ApiState& state, const Params& params, const Responder& out) {
  const std::int64_t size_mb = params.integer("size_mb");
  const double hold = params.number("duration_seconds");
  const std::int64_t max_mb = state.config.memory_max_mb;
  const std::int64_t ceiling_mb = std::min(kRequestMaxMb, max_mb);
  if (size_mb > ceiling_mb) {
    out.send(http::json_error(400, "invalid_parameter",
                              "size_mb must be an integer between 1 and " +
                                  std::to_string(ceiling_mb) + " (MEMORY_MAX_MB), got '" +
                                  std::to_string(size_mb) + "'"));
    return;
  }
  const std::int64_t bytes = size_mb * kMiB;
  auto& held = state.memory_held_bytes;
  if (held.fetch_add(bytes) + bytes > max_mb * kMiB) {
    held.fetch_sub(bytes);
    out.send(retry_later(503, "memory_ceiling",
                         "allocations in progress would pass MEMORY_MAX_MB (" +
                             std::to_string(max_mb) + " MB); retry later"));
    return;
  }
  // Touching the pages costs CPU, so it runs on the pool; the hold is a timer on the I/O thread.
  auto release = [&held, bytes] { held.fetch_sub(bytes); };
  auto block = std::make_shared<std::shared_ptr<char[]>>();
  bool accepted = state.runtime.pool.try_submit(
      [block, bytes] {
        block->reset(new (std::nothrow) char[static_cast<std::size_t>(bytes)]);
        if (!*block) return;
        const long page = sysconf(_SC_PAGESIZE);
        for (std::int64_t offset = 0; offset < bytes; offset += page) (*block)[offset] = 1;
      },
      [out, block, hold, size_mb, release] {
        if (!*block) {
          release();
          out.send(retry_later(503, "out_of_memory",
                               "could not allocate " + std::to_string(size_mb) + " MB"));
          return;
        }
        out.after(seconds(hold), [out, block, release, size_mb, hold] {
          block->reset();
          release();
          out.send(json_response({{"allocated_mb", size_mb}, {"held_seconds", hold}}));
        });
      });
  if (!accepted) {
    release();
    out.send(retry_later(503, "overloaded", "the compute pool is full; retry later"));
  }
}

}  // namespace

void register_memory(http::Router& router, ApiState& state) {
  router.add({.method = "GET",
              .path = "/memory/allocate",
              .summary = "Allocate, touch and hold memory",
              .params = {integer_param("size_mb", 1, static_cast<double>(kRequestMaxMb), "100",
                                       "MiB to allocate, at most MEMORY_MAX_MB"),
                         number_param("duration_seconds", 0, 300, "5", "seconds to hold it")},
              .error_statuses = {503},
              .handler = [&state](Request&, const Params& params, const Responder& out) {
                allocate(state, params, out);
              }});
}

}  // namespace october::api
