#include "http/channel.hpp"

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <stdexcept>

#include "http/session.hpp"

namespace october::http::detail {

namespace asio = boost::asio;

namespace {

// Hands the stream's operations to the session's I/O thread; dropping it finishes the stream.
class ChunkWriter final : public StreamWriter {
 public:
  explicit ChunkWriter(std::shared_ptr<Session> session) : session_(std::move(session)) {}
  ~ChunkWriter() override { finish(); }
  ChunkWriter(const ChunkWriter&) = delete;
  ChunkWriter& operator=(const ChunkWriter&) = delete;

  void write_chunk(std::string data, std::function<void(bool)> done) override {
    asio::dispatch(session_->executor(),
                   [session = session_, data = std::move(data), done = std::move(done)]() mutable {
                     session->write_chunk(std::move(data), std::move(done));
                   });
  }
  void finish() override {
    if (finished_.exchange(true)) return;
    asio::dispatch(session_->executor(), [session = session_] { session->finish_stream(); });
  }

 private:
  std::shared_ptr<Session> session_;
  std::atomic<bool> finished_{false};
};

class Channel final : public Responder::Channel {
 public:
  explicit Channel(std::shared_ptr<Session> session) : session_(std::move(session)) {}

  void send(Response response) override {
    if (sent_.exchange(true)) return;  // a second answer to one request is a bug; drop it
    auto session = session_;
    asio::dispatch(session->executor(), [session, response = std::move(response)]() mutable {
      session->respond(std::move(response));
    });
  }

  void after(std::chrono::steady_clock::duration delay,
             std::function<void()> continuation) override {
    auto session = session_;
    asio::dispatch(session->executor(),
                   [session, delay, continuation = std::move(continuation)]() mutable {
                     session->after(delay, std::move(continuation));
                   });
  }

  std::shared_ptr<StreamWriter> stream(const Response& head) override {
    if (sent_.exchange(true)) {
      throw std::logic_error("a response was already sent for this request");
    }
    auto session = session_;
    asio::dispatch(session->executor(), [session, head] { session->start_stream(head); });
    return std::make_shared<ChunkWriter>(session);
  }

  bool echo_websocket(const WebSocketEcho& echo) override {
    if (sent_.exchange(true)) return false;
    auto session = session_;
    asio::dispatch(session->executor(), [session, echo] { session->upgrade(echo); });
    return true;
  }

 private:
  std::shared_ptr<Session> session_;
  std::atomic<bool> sent_{false};
};

}  // namespace

std::shared_ptr<Responder::Channel> make_channel(std::shared_ptr<Session> session) {
  return std::make_shared<Channel>(std::move(session));
}

}  // namespace october::http::detail
