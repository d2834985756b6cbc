#include "api/random_faults.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include "core/parse.hpp"

namespace october::api {

namespace {

constexpr std::uint64_t low_bits = 0xffffffffULL;

// One bound of `whole`, named in the message when it is not a number of ms in range.
std::int64_t delay_bound(std::string_view part, std::string_view whole) {
  auto value = parse_int(part);
  if (!value || *value < 0 || *value > max_random_delay_ms) {
    throw std::invalid_argument("'" + std::string(whole) +
                                "' is not MIN-MAX or N with delays in ms between 0 and " +
                                std::to_string(max_random_delay_ms) + " (empty for none)");
  }
  return *value;
}

std::mt19937_64& thread_rng() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng;
}

}  // namespace

DelayRange parse_delay_range(std::string_view text) {
  if (text.empty()) return {};
  auto dash = text.find('-', 1);  // from 1, so "-5" is a bad number, not an empty minimum
  if (dash == std::string_view::npos) {
    auto fixed = delay_bound(text, text);
    return {fixed, fixed};
  }
  DelayRange range{delay_bound(text.substr(0, dash), text),
                   delay_bound(text.substr(dash + 1), text)};
  if (range.min_ms > range.max_ms) {
    throw std::invalid_argument("'" + std::string(text) +
                                "': the minimum is larger than the maximum (format MIN-MAX)");
  }
  return range;
}

void RandomFaults::set(DelayRange delay, double error_percent) {
  delay_ = (static_cast<std::uint64_t>(delay.min_ms) << 32U) |
           (static_cast<std::uint64_t>(delay.max_ms) & low_bits);
  error_percent_ = error_percent;
}

DelayRange RandomFaults::delay() const {
  const std::uint64_t packed = delay_.load();
  return {static_cast<std::int64_t>(packed >> 32U), static_cast<std::int64_t>(packed & low_bits)};
}

RandomFaults::Draw RandomFaults::draw(std::mt19937_64& rng) const {
  Draw out;
  const DelayRange range = delay();
  if (range.max_ms > 0) {
    out.delay = std::chrono::milliseconds(
        std::uniform_int_distribution<std::int64_t>(range.min_ms, range.max_ms)(rng));
  }
  const double percent = error_percent();
  // Drawn in [0, 100): 0 never fails a request and 100 fails every one.
  if (percent > 0) out.error = std::uniform_real_distribution<double>(0, 100)(rng) < percent;
  return out;
}

void RandomFaults::count(const Draw& draw) {
  if (draw.delay.count() > 0) ++delays_;
  if (draw.error) ++errors_;
}

bool random_faults_apply(const http::Route& route) {
  return !route.always_available && route.path != "/version" && route.path != "/openapi.json";
}

http::Route with_random_faults(http::Route route, RandomFaults& faults) {
  if (!random_faults_apply(route)) return route;
  auto inner = std::make_shared<const decltype(route.handler)>(std::move(route.handler));
  route.handler = [inner, &faults](http::Request& request, const http::Params& params,
                                   const http::Responder& out) {
    const RandomFaults::Draw draw = faults.draw(thread_rng());
    faults.count(draw);
    auto answer = [inner, error = draw.error, &faults](http::Request& req, const http::Params& p,
                                                       const http::Responder& to) {
      if (!error) {
        (*inner)(req, p, to);
        return;
      }
      to.send(http::json_error(500, "random_error_injected",
                               "failed on purpose: RANDOM_ERROR_PERCENT is " +
                                   format_double(faults.error_percent()) +
                                   " (POST /fault/random?error_percent=0 turns it off)"));
    };
    if (draw.delay.count() == 0) {
      answer(request, params, out);
      return;
    }
    // The handler runs later, after this request's dispatch has returned: it gets a copy.
    auto held = std::make_shared<http::Request>(request);
    out.after(draw.delay, [held, params, out, answer] { answer(*held, params, out); });
  };
  return route;
}

}  // namespace october::api
