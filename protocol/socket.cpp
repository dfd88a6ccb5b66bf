#include "protocol/socket.h"

#include <cerrno>

namespace hypertune::protocol {

bool recv_msg(zmq::socket_t& sock, zmq::message_t& msg, zmq::recv_flags flags) {
  for (;;) {
    try {
      return sock.recv(msg, flags).has_value();
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
    }
  }
}

}  // namespace hypertune::protocol
