#include "core/transport/server_endpoint.h"

#include "core/protocol/message_type.h"
#include "core/util/logging.h"

namespace sprawl::transport {
namespace {

// Messages read per readable event before other sockets get their turn.
constexpr int kMaxReadsPerRound = 256;

void FreeSharedBatch(void* /*data*/, void* hint) { delete static_cast<storage::BatchBytes*>(hint); }

metrics::Labels PortLabel(PortKind kind) {
  return {{"port", kind == PortKind::kClient ? "client" : "peer"}};
}

}  // namespace

ServerEndpoint::ServerEndpoint(zmq::socket_t socket, const Limits& limits,
                               metrics::Registry& registry, Handler handler, PortKind kind)
    : socket_(std::move(socket)),
      limits_(limits),
      handler_(std::move(handler)),
      kind_(kind),
      received_(registry.GetCounter("sprawl_transport_messages_received_total",
                                    "Messages received on a port and accepted.", PortLabel(kind))),
      rejected_(registry.GetCounter("sprawl_transport_messages_rejected_total",
                                    "Messages refused as malformed, too large or misdirected.",
                                    PortLabel(kind))),
      sent_(registry.GetCounter("sprawl_transport_messages_sent_total",
                                "Replies and pushes sent from a port.", PortLabel(kind))),
      dropped_(registry.GetCounter(
          "sprawl_transport_messages_dropped_total",
          "Replies and pushes dropped because the receiver's queue was full or it was gone.",
          PortLabel(kind))) {}

Result<std::unique_ptr<ServerEndpoint>> ServerEndpoint::Bind(
    zmq::context_t& context, EventLoop& loop, const std::string& endpoint, const Limits& limits,
    metrics::Registry& registry, Handler handler, PortKind kind) {
  zmq::socket_t socket(context, zmq::socket_type::router);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(limits.max_message_bytes));
  socket.set(zmq::sockopt::sndhwm, 10'000);
  socket.set(zmq::sockopt::rcvhwm, 10'000);
  // A message for a gone peer fails at once instead of being silently dropped
  // by ZeroMQ, so it is counted.
  socket.set(zmq::sockopt::router_mandatory, 1);
  std::string bind_to = endpoint;
  // ZeroMQ spells "any port" as '*'.
  if (bind_to.size() > 2 && bind_to.compare(bind_to.size() - 2, 2, ":0") == 0) {
    bind_to.replace(bind_to.size() - 1, 1, "*");
  }
  try {
    socket.bind(bind_to);
  } catch (const zmq::error_t& e) {
    return IoError("cannot listen on " + endpoint + ": " + e.what());
  }
  std::unique_ptr<ServerEndpoint> server(
      new ServerEndpoint(std::move(socket), limits, registry, std::move(handler), kind));
  server->endpoint_ = server->socket_.get(zmq::sockopt::last_endpoint);
  const size_t colon = server->endpoint_.rfind(':');
  server->port_ = static_cast<uint16_t>(std::stoi(server->endpoint_.substr(colon + 1)));
  ServerEndpoint* raw = server.get();
  loop.Watch(server->socket_, [raw] { raw->OnReadable(); });
  return server;
}

void ServerEndpoint::OnReadable() {
  for (int i = 0; i < kMaxReadsPerRound; ++i) {
    std::vector<zmq::message_t> parts;
    zmq::recv_result_t got;
    try {
      got = zmq::recv_multipart(socket_, std::back_inserter(parts), zmq::recv_flags::dontwait);
    } catch (const zmq::error_t& e) {
      log::Warn("client socket receive failed", {{"error", e.what()}});
      return;
    }
    if (!got) return;  // nothing more now
    if (parts.empty()) continue;
    std::string routing_id = parts[0].to_string();
    std::vector<std::string_view> frames;
    frames.reserve(parts.size() - 1);
    for (size_t p = 1; p < parts.size(); ++p) frames.push_back(parts[p].to_string_view());
    FrameHeader partial;
    auto decoded = DecodeEnvelope(frames, limits_, &partial);
    if (!decoded.ok()) {
      rejected_.Increment();
      log::Debug("malformed client message", {{"error", decoded.status().ToString()}});
      if ((partial.flags & kFlagResponse) == 0) SendError(routing_id, partial, decoded.status());
      continue;
    }
    const uint16_t type = decoded->header.type;
    if (protocol::MessageTypeName(type).empty()) {
      rejected_.Increment();
      SendError(routing_id, partial,
                InvalidArgument("unknown message type " + std::to_string(type)));
      continue;
    }
    if (protocol::IsPeerMessageType(type) != (kind_ == PortKind::kPeer)) {
      rejected_.Increment();
      SendError(routing_id, partial,
                InvalidArgument(std::string(protocol::MessageTypeName(type)) +
                                (kind_ == PortKind::kPeer
                                     ? " is a client request; send it to the node's client port"
                                     : " is a node-to-node message; this is the client port")));
      continue;
    }
    if (decoded->header.flags & kFlagResponse) {
      rejected_.Increment();
      SendError(routing_id, partial, InvalidArgument("clients may not send responses"));
      continue;
    }
    if (!receiving_) {
      SendError(routing_id, partial, Status(ErrorCode::kClosed, "the node is shutting down"));
      continue;
    }
    received_.Increment();
    handler_(Incoming{std::move(routing_id), std::move(*decoded)});
  }
}

void ServerEndpoint::Send(const std::string& routing_id, const Outgoing& message) {
  try {
    const auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
    if (!socket_.send(zmq::buffer(routing_id), more)) {
      dropped_.Increment();
      return;
    }
    const std::string header = EncodeHeader(message.header);
    socket_.send(zmq::buffer(header), more);
    socket_.send(zmq::buffer(message.body),
                 message.batches.empty() ? zmq::send_flags::dontwait : more);
    for (size_t i = 0; i < message.batches.size(); ++i) {
      const storage::BatchBytes& batch = message.batches[i];
      // The frame holds a reference to the stored batch until ZeroMQ has sent it.
      auto* hold = new storage::BatchBytes(batch);
      zmq::message_t frame(const_cast<char*>(batch->data()), batch->size(), FreeSharedBatch, hold);
      socket_.send(frame, i + 1 < message.batches.size() ? more : zmq::send_flags::dontwait);
    }
    sent_.Increment();
  } catch (const zmq::error_t& e) {
    // EHOSTUNREACH: the peer is gone (router_mandatory).
    dropped_.Increment();
  }
}

void ServerEndpoint::SendError(const std::string& routing_id, const FrameHeader& request,
                               const Status& status, uint32_t retry_after_ms) {
  Outgoing reply;
  reply.header.type = request.type;
  reply.header.correlation_id = request.correlation_id;
  reply.header.flags = kFlagResponse | kFlagError;
  ErrorBody(status, retry_after_ms).SerializeToString(&reply.body);
  Send(routing_id, reply);
}

}  // namespace sprawl::transport
