// POST /api/echo: the body forwarded to every BACKEND_URLS entry at once, their answers combined
// (service-to-service and mesh demos); without backends, the body echoed back.
#include <array>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "api/routes.hpp"
#include "configdir/snapshot.hpp"
#include "core/json_text.hpp"
#include "http/client.hpp"

namespace october::api {

namespace {

// Headers that tie the hop to the caller's request: its id and its W3C trace context.
constexpr std::array<std::string_view, 2> kTraceHeaders = {"traceparent", "tracestate"};

boost::json::value body_value(const http::ClientResponse& answer) {
  if (answer.content_type.rfind("application/json", 0) == 0) {
    boost::system::error_code ec;
    auto parsed = boost::json::parse(answer.body, ec);
    if (!ec) return parsed;
  }
  if (configdir::is_utf8(answer.body)) return boost::json::string(answer.body);
  return boost::json::object{{"base64", configdir::base64(answer.body)}};
}

boost::json::object entry(const http::HttpUrl& url, const http::ClientResponse& answer) {
  boost::json::object out{{"url", url.text()}};
  if (!answer.error.empty()) {
    out["error"] = answer.error;
    return out;
  }
  out["status"] = answer.status;
  out["content_type"] = answer.content_type;
  out["body"] = body_value(answer);
  return out;
}

// The answers as they come in, from the client's thread; the last one sends the response.
struct Gathering {
  explicit Gathering(Responder responder, std::size_t count)
      : out(std::move(responder)), answers(count), left(count) {}
  Responder out;
  std::mutex mutex;
  boost::json::array answers;
  std::size_t left;
  bool all_answered = true;
};

void forward(const Backends& backends, const Request& request, const Responder& out) {
  if (backends.urls.empty()) {
    Response echo;
    echo.body = request.body;
    echo.content_type =
        request.content_type.empty() ? "application/octet-stream" : request.content_type;
    out.send(std::move(echo));
    return;
  }
  std::vector<std::pair<std::string, std::string>> headers{{"X-Request-ID", request.request_id}};
  for (auto name : kTraceHeaders) {
    if (auto value = request.header(name); !value.empty()) {
      headers.emplace_back(std::string(name), std::string(value));
    }
  }
  auto gathering = std::make_shared<Gathering>(out, backends.urls.size());
  for (std::size_t i = 0; i < backends.urls.size(); ++i) {
    const http::HttpUrl& url = backends.urls[i];
    backends.client->send({.method = "POST",
                           .url = url,
                           .body = request.body,
                           .content_type = request.content_type,
                           .headers = headers,
                           .timeout = backends.timeout},
                          [gathering, i, &url](const http::ClientResponse& answer) {
                            std::lock_guard lock(gathering->mutex);
                            gathering->answers[i] = entry(url, answer);
                            gathering->all_answered =
                                gathering->all_answered && answer.error.empty();
                            if (--gathering->left > 0) return;
                            Response response;
                            response.status = gathering->all_answered ? 200 : 502;
                            response.body = to_json(gathering->answers);
                            gathering->out.send(std::move(response));
                          });
  }
}

}  // namespace

void register_backends(http::Router& router, const Backends& backends) {
  router.add({.method = "POST",
              .path = "/api/echo",
              .summary = "The body POSTed to every BACKEND_URLS entry at once (with the caller's "
                         "X-Request-ID and traceparent), answered as [{url, status, content_type, "
                         "body} or {url, error}]; 502 when one could not be reached in "
                         "BACKEND_TIMEOUT. Without backends, the body echoed back",
              .error_statuses = {502},
              .handler = [&backends](Request& request, const Params&, const Responder& out) {
                forward(backends, request, out);
              }});
}

}  // namespace october::api
