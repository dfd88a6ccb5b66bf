#include "scheduler/zap.h"

#include "protocol/socket.h"

#include <array>
#include <cerrno>
#include <vector>

#include <spdlog/spdlog.h>

#include "base/error.h"

namespace hypertune::scheduler {

namespace {


}  // namespace

ZapHandler::ZapHandler(zmq::context_t& ctx, std::set<std::string> allowed_public_z85)
    : socket_(ctx, zmq::socket_type::rep), allowed_(std::move(allowed_public_z85)) {
  socket_.set(zmq::sockopt::linger, 0);
  try {
    socket_.bind(kEndpoint);
  } catch (const zmq::error_t& e) {
    throw Error(std::string("cannot bind the authentication handler on ") + kEndpoint + ": " + e.what());
  }
}

int ZapHandler::handle_pending() {
  int handled = 0;
  for (;;) {
    std::vector<zmq::message_t> frames;
    zmq::message_t frame;
    if (!protocol::recv_msg(socket_, frame, zmq::recv_flags::dontwait)) return handled;
    frames.push_back(std::move(frame));
    while (frames.back().more()) {
      zmq::message_t next;
      (void)protocol::recv_msg(socket_, next, zmq::recv_flags::none);
      frames.push_back(std::move(next));
    }
    ++handled;

    // Request: version, request id, domain, address, identity, mechanism, credentials...
    std::string request_id;
    std::string status = "400";
    std::string text = "malformed ZAP request";
    if (frames.size() >= 6) {
      request_id = frames[1].to_string();
      const std::string address = frames[3].to_string();
      const std::string mechanism = frames[5].to_string();
      if (frames[0].to_string() != "1.0") {
        text = "unsupported ZAP version";
      } else if (mechanism != "CURVE" || frames.size() < 7 || frames[6].size() != 32) {
        text = "CURVE required";
        refused_.fetch_add(1);
        spdlog::warn("refused a connection from {}: security mechanism {} (this scheduler requires CURVE keys)",
                     address.empty() ? "?" : address, mechanism);
      } else {
        std::array<char, 41> z85{};
        zmq_z85_encode(z85.data(), static_cast<const uint8_t*>(frames[6].data()), 32);
        const std::string key(z85.data());
        if (allowed_.count(key)) {
          status = "200";
          text = "OK";
          accepted_.fetch_add(1);
        } else {
          text = "public key not allowed";
          refused_.fetch_add(1);
          spdlog::warn("refused a worker from {}: its public key {} is not in the allow list",
                       address.empty() ? "?" : address, key);
        }
      }
    }
    // Reply: version, request id, status code, status text, user id, metadata.
    socket_.send(zmq::str_buffer("1.0"), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(request_id), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(status), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(text), zmq::send_flags::sndmore);
    socket_.send(zmq::str_buffer(""), zmq::send_flags::sndmore);
    socket_.send(zmq::str_buffer(""), zmq::send_flags::none);
  }
}

}  // namespace hypertune::scheduler
