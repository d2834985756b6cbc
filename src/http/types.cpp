#include "http/types.hpp"

#include <boost/algorithm/string/predicate.hpp>
#include <boost/json/object.hpp>

#include "core/json_text.hpp"

namespace october::http {

std::string_view Request::header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (boost::algorithm::iequals(field, name)) return value;
  }
  return {};
}

namespace {

class CollectingWriter final : public StreamWriter {
 public:
  CollectingWriter(std::shared_ptr<Responder::Channel> channel, Response head)
      : channel_(std::move(channel)), response_(std::move(head)) {
    response_.body.clear();
  }
  ~CollectingWriter() override { finish(); }
  CollectingWriter(const CollectingWriter&) = delete;
  CollectingWriter& operator=(const CollectingWriter&) = delete;

  void write_chunk(std::string data, std::function<void(bool)> done) override {
    if (!finished_) response_.body += data;
    done(!finished_);
  }
  void finish() override {
    if (finished_) return;
    finished_ = true;
    channel_->send(std::move(response_));
  }

 private:
  std::shared_ptr<Responder::Channel> channel_;
  Response response_;
  bool finished_ = false;
};

}  // namespace

std::shared_ptr<StreamWriter> Responder::stream(Response head) const {
  if (auto writer = channel_->stream(head)) return writer;
  return std::make_shared<CollectingWriter>(channel_, std::move(head));
}

Response json_error(int status, std::string_view code, std::string_view detail) {
  Response response;
  response.status = status;
  response.body = to_json(boost::json::object{{"error", code}, {"detail", detail}});
  return response;
}

}  // namespace october::http
