#pragma once
// A Responder channel for unit tests: keeps what a handler sends and runs delayed continuations
// at once, so a route can be exercised synchronously without a socket or an I/O thread.
#include <chrono>
#include <functional>
#include <utility>
#include <vector>

#include "http/types.hpp"

namespace october::testing {

class CapturingChannel : public http::Responder::Channel {
 public:
  void send(http::Response response) override { responses.push_back(std::move(response)); }
  void after(std::chrono::steady_clock::duration /*delay*/,
             std::function<void()> continuation) override {
    continuation();
  }
  std::vector<http::Response> responses;
};

}  // namespace october::testing
