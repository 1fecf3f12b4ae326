#include "core/transport/frame.h"

namespace sprawl::transport {
namespace {

constexpr char kMagic0 = 'S';
constexpr char kMagic1 = 'P';

}  // namespace

std::string EncodeHeader(const FrameHeader& h) {
  std::string out(kHeaderSize, '\0');
  out[0] = kMagic0;
  out[1] = kMagic1;
  out[2] = static_cast<char>(h.version);
  out[3] = static_cast<char>(h.flags);
  out[4] = static_cast<char>(h.type & 0xff);
  out[5] = static_cast<char>(h.type >> 8);
  for (int i = 0; i < 8; ++i) out[8 + i] = static_cast<char>((h.correlation_id >> (8 * i)) & 0xff);
  return out;
}

Result<FrameHeader> DecodeHeader(std::string_view b, FrameHeader* partial) {
  if (b.size() != kHeaderSize) {
    return InvalidArgument("frame header must be " + std::to_string(kHeaderSize) + " bytes, got " +
                           std::to_string(b.size()));
  }
  if (b[0] != kMagic0 || b[1] != kMagic1) {
    return InvalidArgument("frame header does not start with the magic 'SP'");
  }
  auto u8 = [&](size_t i) { return static_cast<uint8_t>(b[i]); };
  FrameHeader h;
  h.version = u8(2);
  h.flags = u8(3);
  h.type = static_cast<uint16_t>(u8(4) | (u8(5) << 8));
  for (int i = 7; i >= 0; --i) h.correlation_id = (h.correlation_id << 8) | u8(8 + i);
  if (partial != nullptr) *partial = h;
  if (h.version != kProtocolVersion) {
    return UnsupportedVersion("protocol version " + std::to_string(h.version) +
                              " is not supported; this node speaks version " +
                              std::to_string(kProtocolVersion));
  }
  if ((h.flags & ~kKnownFlags) != 0) {
    return InvalidArgument("frame header has unknown flags " + std::to_string(h.flags));
  }
  if (u8(6) != 0 || u8(7) != 0) return InvalidArgument("frame header reserved bytes must be zero");
  return h;
}

Result<Envelope> DecodeEnvelope(const std::vector<std::string_view>& frames, const Limits& limits,
                                FrameHeader* partial) {
  if (frames.empty()) return InvalidArgument("empty message");
  SPRAWL_ASSIGN_OR_RETURN(FrameHeader header, DecodeHeader(frames[0], partial));
  if (frames.size() < 2) {
    return InvalidArgument("message has a header but no body frame");
  }
  if (frames.size() > limits.max_frames) {
    return Status(ErrorCode::kMessageTooLarge,
                  "message has " + std::to_string(frames.size()) + " frames; at most " +
                      std::to_string(limits.max_frames) + " are allowed");
  }
  if (frames[1].size() > limits.max_body_bytes) {
    return Status(ErrorCode::kMessageTooLarge,
                  "message body has " + std::to_string(frames[1].size()) + " bytes; at most " +
                      std::to_string(limits.max_body_bytes) + " are allowed");
  }
  size_t total = 0;
  for (std::string_view f : frames) total += f.size();
  if (total > limits.max_message_bytes) {
    return Status(ErrorCode::kMessageTooLarge,
                  "message has " + std::to_string(total) + " bytes; at most " +
                      std::to_string(limits.max_message_bytes) + " are allowed");
  }
  Envelope out;
  out.header = header;
  out.body.assign(frames[1]);
  out.batches.reserve(frames.size() - 2);
  for (size_t i = 2; i < frames.size(); ++i) out.batches.emplace_back(frames[i]);
  return out;
}

protocol::pb::Error ErrorBody(const Status& status, uint32_t retry_after_ms) {
  protocol::pb::Error e;
  e.set_code(static_cast<uint32_t>(status.code()));
  e.set_message(status.message());
  e.set_retriable(status.retriable());
  if (retry_after_ms > 0) e.set_retry_after_ms(retry_after_ms);
  if (!status.leader_hint().empty()) e.set_leader_hint(status.leader_hint());
  return e;
}

Status StatusFromError(const protocol::pb::Error& error) {
  const bool known =
      error.code() <= 0xffff && ErrorCodeName(static_cast<ErrorCode>(error.code())) != "UNKNOWN";
  const ErrorCode code = known ? static_cast<ErrorCode>(error.code()) : ErrorCode::kInternal;
  if (code == ErrorCode::kOk) {
    return Status(ErrorCode::kInternal, "error reply with code OK: " + error.message(), false);
  }
  std::string message = error.message();
  if (!known) message = "unknown error code " + std::to_string(error.code()) + ": " + message;
  return Status(code, std::move(message), error.retriable()).WithLeaderHint(error.leader_hint());
}

}  // namespace sprawl::transport
