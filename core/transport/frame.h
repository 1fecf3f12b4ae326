#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/protocol/messages.h"
#include "core/util/result.h"

namespace sprawl::transport {

// The frame header of every protocol message (docs/protocol.md, section 2):
// magic "SP", version, flags, message type, reserved, correlation id.
inline constexpr uint8_t kProtocolVersion = 1;
inline constexpr size_t kHeaderSize = 16;

enum HeaderFlag : uint8_t {
  kFlagResponse = 1 << 0,  // a reply to the request with the same correlation id
  kFlagError = 1 << 1,     // the body is an Error
  kFlagNoReply = 1 << 2,   // the sender wants no reply
};
inline constexpr uint8_t kKnownFlags = kFlagResponse | kFlagError | kFlagNoReply;

struct FrameHeader {
  uint8_t version = kProtocolVersion;
  uint8_t flags = 0;
  uint16_t type = 0;
  uint64_t correlation_id = 0;
};

std::string EncodeHeader(const FrameHeader& header);
// UNSUPPORTED_VERSION for another protocol version (the header is still
// returned through `partial` so the error reply can echo the correlation id);
// INVALID_ARGUMENT for a wrong size or magic, unknown flags or reserved bits.
Result<FrameHeader> DecodeHeader(std::string_view bytes, FrameHeader* partial = nullptr);

// Bounds on what a peer may send (docs/protocol.md, "Limits").
struct Limits {
  size_t max_frames = 2 + protocol::kMaxBatchesPerMessage;  // header, body and the batches
  size_t max_body_bytes = 1u << 20;                         // the protobuf body
  size_t max_message_bytes = 64u << 20;                     // every frame together
};

// A message without its routing frame: header, body and batch frames.
struct Envelope {
  FrameHeader header;
  std::string body;
  std::vector<std::string> batches;
};

// Checks a received message's frames against `limits` and decodes its
// header. On failure `partial` holds what could be read of the header (for
// the error reply's correlation id). Never throws; bounded by the frames.
Result<Envelope> DecodeEnvelope(const std::vector<std::string_view>& frames, const Limits& limits,
                                FrameHeader* partial);

// The Error body of an error reply built from `status`.
protocol::pb::Error ErrorBody(const Status& status, uint32_t retry_after_ms = 0);
// The Status an Error body stands for.
Status StatusFromError(const protocol::pb::Error& error);

}  // namespace sprawl::transport
