#pragma once

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/storage/partition_log.h"
#include "core/transport/event_loop.h"
#include "core/transport/frame.h"
#include "core/util/metrics.h"

namespace sprawl::transport {

// A request as the server sees it: who sent it and what it says.
struct Incoming {
  std::string routing_id;  // the ROUTER's identity of the connection
  Envelope message;
};

// What the server sends: a header, a body and batches shared with storage
// (sent without copying).
struct Outgoing {
  FrameHeader header;
  std::string body;
  std::vector<storage::BatchBytes> batches;
};

// Which port an endpoint serves: the message types it accepts (the others
// get an error reply naming the right port) and its metrics' `port` label.
enum class PortKind { kClient, kPeer };

// The client port (and the peer port): a ROUTER socket on the event loop.
// Decodes every message it receives and hands valid ones to the handler;
// answers invalid ones with an error reply itself, so a bad frame never
// reaches the broker and the connection stays usable. Loop thread only,
// except Bind.
class ServerEndpoint {
 public:
  using Handler = std::function<void(Incoming)>;

  // Binds `endpoint` ("tcp://127.0.0.1:0" picks a free port) and watches it
  // on `loop`. IO_ERROR when the address cannot be bound.
  static Result<std::unique_ptr<ServerEndpoint>> Bind(zmq::context_t& context, EventLoop& loop,
                                                      const std::string& endpoint,
                                                      const Limits& limits,
                                                      metrics::Registry& registry, Handler handler,
                                                      PortKind kind = PortKind::kClient);

  // The bound endpoint with the real port, e.g. "tcp://127.0.0.1:7400".
  const std::string& endpoint() const { return endpoint_; }
  uint16_t port() const { return port_; }

  // Sends to a connection without blocking; a message the peer's queue
  // cannot take (or a gone peer) is dropped and counted: replies to a slow
  // client must not stall the loop.
  void Send(const std::string& routing_id, const Outgoing& message);
  // An error reply to `request`.
  void SendError(const std::string& routing_id, const FrameHeader& request, const Status& status,
                 uint32_t retry_after_ms = 0);

  // Stops handing requests to the handler (shutdown): what arrives later is
  // answered with CLOSED; replies to requests in progress are still sent.
  void StopReceiving() { receiving_ = false; }

 private:
  ServerEndpoint(zmq::socket_t socket, const Limits& limits, metrics::Registry& registry,
                 Handler handler, PortKind kind);
  void OnReadable();

  zmq::socket_t socket_;
  Limits limits_;
  Handler handler_;
  PortKind kind_;
  std::string endpoint_;
  uint16_t port_ = 0;
  bool receiving_ = true;
  metrics::Counter& received_;
  metrics::Counter& rejected_;
  metrics::Counter& sent_;
  metrics::Counter& dropped_;
};

}  // namespace sprawl::transport
