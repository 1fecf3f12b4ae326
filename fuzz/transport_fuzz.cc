// libFuzzer target for what a client can send a node: the multipart message
// decoder (core/transport/frame.h) and the protobuf body of every request
// type (core/protocol/sprawl.proto). The input is split into frames: each
// frame is a length byte (0-254; 255 means "the rest") followed by that many
// bytes. On any input the decoders must fail cleanly; a header that decodes
// must encode back to the same 16 bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/protocol/message_type.h"
#include "core/protocol/messages.h"
#include "core/replica/control_entry.h"
#include "core/transport/frame.h"
#include "fuzz/fuzz_support.h"

namespace sprawl::fuzz {
namespace {

namespace pb = protocol::pb;
using protocol::MessageType;

template <typename Body>
void ParseAs(const std::string& body) {
  Body message;
  if (message.ParseFromString(body)) {
    std::string again;
    FUZZ_CHECK(message.SerializeToString(&again));
  }
}

void ParseBody(uint16_t type, const std::string& body) {
  switch (static_cast<MessageType>(type)) {
    case MessageType::kPing:
      return ParseAs<pb::PingRequest>(body);
    case MessageType::kCreateTopic:
      return ParseAs<pb::CreateTopicRequest>(body);
    case MessageType::kDeleteTopic:
      return ParseAs<pb::DeleteTopicRequest>(body);
    case MessageType::kDescribeTopic:
      return ParseAs<pb::DescribeTopicRequest>(body);
    case MessageType::kListTopics:
      return ParseAs<pb::ListTopicsRequest>(body);
    case MessageType::kAlterTopic:
      return ParseAs<pb::AlterTopicRequest>(body);
    case MessageType::kMetadata:
      // A node decodes the request; a client decodes the answer (its routes).
      ParseAs<pb::MetadataRequest>(body);
      return ParseAs<pb::MetadataResponse>(body);
    case MessageType::kTransferLeader:
      ParseAs<pb::TransferLeaderRequest>(body);
      return ParseAs<pb::TransferLeaderResponse>(body);
    case MessageType::kInitProducer:
      ParseAs<pb::InitProducerRequest>(body);
      return ParseAs<pb::InitProducerResponse>(body);
    case MessageType::kPublish:
      return ParseAs<pb::PublishRequest>(body);
    case MessageType::kFetch:
      return ParseAs<pb::FetchRequest>(body);
    case MessageType::kListOffsets:
      return ParseAs<pb::ListOffsetsRequest>(body);
    case MessageType::kJoinGroup:
      return ParseAs<pb::JoinGroupRequest>(body);
    case MessageType::kHeartbeat:
      return ParseAs<pb::HeartbeatRequest>(body);
    case MessageType::kLeaveGroup:
      return ParseAs<pb::LeaveGroupRequest>(body);
    case MessageType::kSettle:
      return ParseAs<pb::SettleRequest>(body);
    case MessageType::kDeliver:
      return ParseAs<pb::DeliverPush>(body);
    case MessageType::kDescribeGroup:
      return ParseAs<pb::DescribeGroupRequest>(body);
    case MessageType::kListGroups:
      return ParseAs<pb::ListGroupsRequest>(body);
    case MessageType::kResetGroupOffsets:
      return ParseAs<pb::ResetGroupOffsetsRequest>(body);
    case MessageType::kGossip:
    case MessageType::kRaft:
    case MessageType::kMetaForward:
      // Their own codecs decode these bodies (overlay_codec_fuzz, raft_codec_fuzz,
      // meta_fuzz); the frame around them is what this target covers.
      return;
    case MessageType::kReplicaRemoved:
      (void)replica::DecodeReplicaRemoved(body);
      return;
  }
  ParseAs<pb::Error>(body);
}

}  // namespace
}  // namespace sprawl::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sprawl;
  std::vector<std::string> frames;
  size_t pos = 0;
  while (pos < size && frames.size() < 2000) {
    const size_t length = data[pos++];
    const size_t take = length == 255 ? size - pos : std::min(length, size - pos);
    frames.emplace_back(reinterpret_cast<const char*>(data + pos), take);
    pos += take;
  }
  std::vector<std::string_view> views(frames.begin(), frames.end());
  transport::Limits limits;
  limits.max_body_bytes = 4096;  // small limits, so the fuzzer reaches them
  limits.max_message_bytes = 16384;
  limits.max_frames = 8;
  transport::FrameHeader partial;
  auto envelope = transport::DecodeEnvelope(views, limits, &partial);
  if (!frames.empty() && frames[0].size() == transport::kHeaderSize) {
    auto header = transport::DecodeHeader(frames[0]);
    if (header.ok()) FUZZ_CHECK(transport::EncodeHeader(*header) == frames[0]);
  }
  if (envelope.ok()) {
    FUZZ_CHECK(envelope->body.size() <= limits.max_body_bytes);
    FUZZ_CHECK(envelope->batches.size() + 2 <= limits.max_frames);
    fuzz::ParseBody(envelope->header.type, envelope->body);
  }
  return 0;
}
