#pragma once
// How a handler's Responder reaches its Session: every call is handed to the session's I/O
// thread, whichever thread the handler answers from.
#include <memory>

#include "http/types.hpp"

namespace october::http::detail {

class Session;

std::shared_ptr<Responder::Channel> make_channel(std::shared_ptr<Session> session);

}  // namespace october::http::detail
