#include "core/transport/peer_transport.h"

#include <charconv>

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

PeerTransport::PeerTransport(zmq::context_t& context, Options options, metrics::Registry& registry)
    : context_(context),
      options_(options),
      sent_(registry.GetCounter("sprawl_peer_messages_sent_total",
                                "Messages sent to other nodes' peer ports.")),
      dropped_(registry.GetCounter("sprawl_peer_messages_dropped_total",
                                   "Messages to other nodes dropped: no connection up, the "
                                   "peer's queue full, a malformed address or too many peers.")),
      open_(registry.GetGauge("sprawl_peer_connections", "Open connections to other nodes.")) {}

PeerTransport::~PeerTransport() { open_.Set(0); }

Result<std::unique_ptr<PeerTransport>> PeerTransport::Bind(zmq::context_t& context, EventLoop& loop,
                                                           const std::string& endpoint,
                                                           const Limits& limits,
                                                           metrics::Registry& registry,
                                                           Options options, Handler handler) {
  std::unique_ptr<PeerTransport> peers(new PeerTransport(context, options, registry));
  auto inbound = ServerEndpoint::Bind(
      context, loop, endpoint, limits, registry,
      [handler = std::move(handler)](Incoming in) {
        handler(in.message.header.type, std::move(in.message.body));
      },
      PortKind::kPeer);
  if (!inbound.ok()) return inbound.status();
  peers->inbound_ = std::move(*inbound);
  return peers;
}

bool PeerTransport::Send(const std::string& address, uint16_t type, std::string_view body) {
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
    try {
      socket.connect(address);
    } catch (const zmq::error_t& e) {
      log::Warn("cannot connect to peer", {{"address", address}, {"error", e.what()}});
      dropped_.Increment();
      return false;
    }
    it = outbound_.emplace(address, std::move(socket)).first;
    open_.Set(static_cast<int64_t>(outbound_.size()));
  }
  FrameHeader header;
  header.type = type;
  header.flags = kFlagNoReply;
  const std::string encoded = EncodeHeader(header);
  try {
    // A two-frame message is queued whole or not at all.
    if (!it->second.send(zmq::buffer(encoded),
                         zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      dropped_.Increment();
      return false;
    }
    it->second.send(zmq::buffer(body), zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    dropped_.Increment();
    return false;
  }
  sent_.Increment();
  return true;
}

void PeerTransport::Disconnect(const std::string& address) {
  if (outbound_.erase(address) > 0) open_.Set(static_cast<int64_t>(outbound_.size()));
}

}  // namespace sprawl::transport
