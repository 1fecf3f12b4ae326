#include "core/transport/peer_transport.h"

#include <zmq_addon.hpp>

#include <atomic>
#include <charconv>
#include <cstring>
#include <optional>
#include <vector>

#include "core/util/logging.h"

namespace sprawl::transport {

bool IsPeerAddress(std::string_view address) {
  constexpr std::string_view kScheme = "tcp://";
  if (address.substr(0, kScheme.size()) != kScheme) return false;
  const std::string_view rest = address.substr(kScheme.size());
  const size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == rest.size()) return false;
  const std::string_view port = rest.substr(colon + 1);
  unsigned value = 0;
  auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  return error == std::errc() && end == port.data() + port.size() && value > 0 && value <= 65535;
}

PeerTransport::PeerTransport(zmq::context_t& context, EventLoop& loop, Options options,
                             metrics::Registry& registry)
    : context_(context),
      loop_(loop),
      options_(options),
      sent_(registry.GetCounter("sprawl_peer_messages_sent_total",
                                "Messages sent to other nodes' peer ports.")),
      dropped_(registry.GetCounter("sprawl_peer_messages_dropped_total",
                                   "Messages to other nodes dropped: no connection up, the "
                                   "peer's queue full, a malformed address or too many peers.")),
      cut_messages_(registry.GetCounter(
          "sprawl_peer_messages_cut_total",
          "Messages to or from other nodes dropped by an injected network partition (tests).")),
      open_(registry.GetGauge("sprawl_peer_connections", "Open connections to other nodes.")) {}

PeerTransport::~PeerTransport() {
  for (auto& [address, out] : outbound_) loop_.Unwatch(out.monitor);
  open_.Set(0);
}

Result<std::unique_ptr<PeerTransport>> PeerTransport::Bind(zmq::context_t& context, EventLoop& loop,
                                                           const std::string& endpoint,
                                                           const Limits& limits,
                                                           metrics::Registry& registry,
                                                           Options options, Handler handler) {
  std::unique_ptr<PeerTransport> peers(new PeerTransport(context, loop, options, registry));
  PeerTransport* raw = peers.get();  // owns the endpoint, so outlives its handler
  auto inbound = ServerEndpoint::Bind(
      context, loop, endpoint, limits, registry,
      [raw, handler = std::move(handler)](Incoming in) {
        if (raw->cut_) {
          raw->cut_messages_.Increment();
          return;
        }
        handler(in.message.header.type, std::move(in.message.body));
      },
      PortKind::kPeer);
  if (!inbound.ok()) return inbound.status();
  peers->inbound_ = std::move(*inbound);
  return peers;
}

bool PeerTransport::Send(const std::string& address, uint16_t type, std::string_view body) {
  if (cut_) {
    cut_messages_.Increment();
    return false;
  }
  auto it = outbound_.find(address);
  if (it == outbound_.end()) {
    if (!IsPeerAddress(address) || outbound_.size() >= options_.max_peers) {
      dropped_.Increment();
      return false;
    }
    zmq::socket_t socket(context_, zmq::socket_type::dealer);
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::immediate, 1);
    socket.set(zmq::sockopt::sndhwm, options_.send_high_water_mark);
    // Peers never answer on this connection, except with an error to a
    // message they could not take; keep at most a few of those.
    socket.set(zmq::sockopt::rcvhwm, 16);
    socket.set(zmq::sockopt::reconnect_ivl, static_cast<int>(options_.reconnect_interval.count()));
    socket.set(zmq::sockopt::reconnect_ivl_max,
               static_cast<int>(options_.reconnect_interval_max.count()));
    // Its events on an inproc pair: a dropped connection is told at once
    // (ConnectionLost), so Raft need not wait out an election timeout.
    static std::atomic<uint64_t> monitors{0};
    const std::string monitor_endpoint =
        "inproc://sprawl-peer-monitor-" + std::to_string(++monitors);
    if (zmq_socket_monitor(socket.handle(), monitor_endpoint.c_str(), ZMQ_EVENT_DISCONNECTED) !=
        0) {
      log::Warn("cannot monitor the peer connection",
                {{"address", address}, {"error", zmq_strerror(zmq_errno())}});
      dropped_.Increment();
      return false;
    }
    zmq::socket_t monitor(context_, zmq::socket_type::pair);
    monitor.set(zmq::sockopt::linger, 0);
    try {
      monitor.connect(monitor_endpoint);
      socket.connect(address);
    } catch (const zmq::error_t& e) {
      log::Warn("cannot connect to peer", {{"address", address}, {"error", e.what()}});
      dropped_.Increment();
      return false;
    }
    it = outbound_.emplace(address, Outbound{std::move(socket), std::move(monitor)}).first;
    zmq::socket_t& watched = it->second.monitor;
    loop_.Watch(watched, [this, address, &watched] { ReadEvents(address, watched); });
    open_.Set(static_cast<int64_t>(outbound_.size()));
  }
  FrameHeader header;
  header.type = type;
  header.flags = kFlagNoReply;
  const std::string encoded = EncodeHeader(header);
  try {
    // A two-frame message is queued whole or not at all.
    if (!it->second.socket.send(zmq::buffer(encoded),
                                zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      dropped_.Increment();
      return false;
    }
    it->second.socket.send(zmq::buffer(body), zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    dropped_.Increment();
    return false;
  }
  sent_.Increment();
  return true;
}

void PeerTransport::Disconnect(const std::string& address) {
  auto it = outbound_.find(address);
  if (it == outbound_.end()) return;
  loop_.Unwatch(it->second.monitor);
  outbound_.erase(it);
  open_.Set(static_cast<int64_t>(outbound_.size()));
}

void PeerTransport::ReadEvents(const std::string& address, zmq::socket_t& monitor) {
  bool lost = false;
  for (int i = 0; i < 64; ++i) {  // bounded: the rest is read next round
    // An event is two frames: 6 bytes (u16 event, u32 value), then the
    // endpoint.
    std::vector<zmq::message_t> parts;
    std::optional<size_t> got;
    try {
      got = zmq::recv_multipart(monitor, std::back_inserter(parts), zmq::recv_flags::dontwait);
    } catch (const zmq::error_t&) {
      break;
    }
    if (!got) break;
    if (parts.size() != 2 || parts[0].size() < sizeof(uint16_t)) continue;
    uint16_t event = 0;
    std::memcpy(&event, parts[0].data(), sizeof event);
    lost = lost || event == ZMQ_EVENT_DISCONNECTED;
  }
  if (lost && lost_) lost_(address);
}

}  // namespace sprawl::transport
