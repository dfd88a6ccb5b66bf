#pragma once
// Small helpers over cppzmq shared by the scheduler, the worker and the ZAP handler.
// Thread-safety: as the socket's (one thread per socket).

#include <zmq.hpp>

namespace hypertune::protocol {

// recv that retries when a signal interrupts it (EINTR); false when nothing is waiting
// (recv_flags::dontwait). Other ZeroMQ errors are thrown as zmq::error_t.
bool recv_msg(zmq::socket_t& sock, zmq::message_t& msg, zmq::recv_flags flags);

}  // namespace hypertune::protocol
