#pragma once

#include <zmq.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/transport/event_loop.h"
#include "core/transport/server_endpoint.h"
#include "core/util/metrics.h"
#include "core/util/result.h"

namespace sprawl::transport {

// Node-to-node messaging for the overlay: one-way messages, like datagrams.
// Receives on a ROUTER bound to the peer port (a ServerEndpoint, so every
// inbound frame is checked exactly as on the client port) and sends through
// one DEALER per peer address, opened on first use.
//
// Sending never blocks and never queues without bound: ZMQ_IMMEDIATE keeps
// messages off connections that are not up, a small send high-water mark
// bounds what waits for a slow peer, linger 0 drops it when the connection
// closes, and reconnects back off up to a maximum. What cannot be sent is
// dropped and counted; the protocols above (SWIM) expect a lossy network.
// Loop thread only, except Bind.
class PeerTransport {
 public:
  struct Options {
    int send_high_water_mark = 1000;  // messages waiting per peer
    std::chrono::milliseconds reconnect_interval{100};
    std::chrono::milliseconds reconnect_interval_max{5000};
    size_t max_peers = 4096;  // open connections; more are refused
  };
  // A message from a peer: its type (protocol::IsPeerMessageType) and body.
  using Handler = std::function<void(uint16_t type, std::string body)>;

  // Binds the peer port at `endpoint` ("tcp://127.0.0.1:0" picks a free
  // port) on `loop`. IO_ERROR when the address cannot be bound.
  static Result<std::unique_ptr<PeerTransport>> Bind(zmq::context_t& context, EventLoop& loop,
                                                     const std::string& endpoint,
                                                     const Limits& limits,
                                                     metrics::Registry& registry, Options options,
                                                     Handler handler);
  ~PeerTransport();

  // The bound endpoint with its real port, e.g. "tcp://127.0.0.1:7401".
  const std::string& endpoint() const { return inbound_->endpoint(); }
  uint16_t port() const { return inbound_->port(); }

  // Sends one message to the node whose peer port is `address`
  // ("tcp://host:port"). False when it was dropped: a malformed address, no
  // connection up yet, the peer's queue full, or too many peers.
  bool Send(const std::string& address, uint16_t type, std::string_view body);

  // Closes the connection to `address` (a peer that left or died); a later
  // Send opens a new one.
  void Disconnect(const std::string& address);

  // Called (on the loop) with a peer's address when an established
  // connection to it drops: its process died or closed the port, most
  // likely. ZeroMQ reconnects by itself; this only tells.
  using Lost = std::function<void(const std::string& address)>;
  void SetConnectionLost(Lost lost) { lost_ = std::move(lost); }

  size_t connections() const { return outbound_.size(); }

  // A fault for tests (sprawl-server --fault-injection): while cut, every
  // message to or from a peer is dropped and counted, as if the network
  // between this node and every other one were down, while the client and
  // HTTP ports keep working. Connections stay open, so no peer sees its
  // connection drop: like a real partition, only timeouts reveal it.
  void SetCut(bool cut) { cut_ = cut; }
  bool cut() const { return cut_; }

 private:
  PeerTransport(zmq::context_t& context, EventLoop& loop, Options options,
                metrics::Registry& registry);
  // One peer's connection and the inproc socket its events arrive on.
  struct Outbound {
    zmq::socket_t socket;
    zmq::socket_t monitor;
  };
  void ReadEvents(const std::string& address, zmq::socket_t& monitor);

  zmq::context_t& context_;
  EventLoop& loop_;
  Options options_;
  std::unique_ptr<ServerEndpoint> inbound_;
  std::map<std::string, Outbound> outbound_;  // nodes never move: the loop watches the monitors
  Lost lost_;
  bool cut_ = false;
  metrics::Counter& sent_;
  metrics::Counter& dropped_;
  metrics::Counter& cut_messages_;
  metrics::Gauge& open_;
};

// Whether `address` has the form "tcp://host:port" with a port in 1..65535.
bool IsPeerAddress(std::string_view address);

}  // namespace sprawl::transport
