#include "core/node/request_dispatcher.h"

#include <algorithm>

#include "core/protocol/message_type.h"

namespace sprawl::node {
namespace {

using protocol::MessageType;
namespace pb = protocol::pb;

constexpr uint32_t kProtocolVersion = 1;
constexpr std::string_view kVersion = "0.1.0";

template <typename Request>
Result<Request> ParseBody(std::string_view body, uint16_t type) {
  Request request;
  if (!request.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    return InvalidArgument("the body of a " + std::string(protocol::MessageTypeName(type)) +
                           " request does not decode");
  }
  return request;
}

EncodedReply Encode(const google::protobuf::MessageLite& message) {
  EncodedReply out;
  message.SerializeToString(&out.body);
  return out;
}

// Replies with `result` encoded, or its error.
template <typename Message>
void ReplyWith(const ReplyFn& reply, Result<Message> result) {
  if (!result.ok()) return reply(result.status());
  reply(Encode(*result));
}

}  // namespace

RequestDispatcher::RequestDispatcher(broker::Broker& broker, std::string node_id,
                                     const Clock& clock)
    : broker_(broker),
      node_id_(std::move(node_id)),
      clock_(clock),
      started_nanos_(clock.MonotonicNanos()) {}

void RequestDispatcher::Dispatch(uint16_t type, std::string_view body,
                                 std::vector<std::string> frames, const std::string& connection,
                                 ReplyFn reply) {
  if (!frames.empty() && type != static_cast<uint16_t>(MessageType::kPublish)) {
    return reply(InvalidArgument("only PUBLISH requests carry batch frames; this " +
                                 std::string(protocol::MessageTypeName(type)) + " carries " +
                                 std::to_string(frames.size())));
  }
  switch (static_cast<MessageType>(type)) {
    case MessageType::kPing: {
      pb::PingResponse pong;
      pong.set_node_id(node_id_);
      pong.set_version(std::string(kVersion));
      pong.set_uptime_ms(
          static_cast<uint64_t>((clock_.MonotonicNanos() - started_nanos_) / 1'000'000));
      pong.set_protocol_version(kProtocolVersion);
      return reply(Encode(pong));
    }
    case MessageType::kCreateTopic: {
      auto request = ParseBody<pb::CreateTopicRequest>(body, type);
      if (!request.ok()) return reply(request.status());
      auto done = [reply](Result<pb::TopicDescription> created) {
        if (!created.ok()) return reply(created.status());
        pb::CreateTopicResponse out;
        *out.mutable_topic() = std::move(*created);
        reply(Encode(out));
      };
      return meta_ ? meta_->CreateTopic(*request, done) : broker_.CreateTopic(*request, done);
    }
    case MessageType::kAlterTopic: {
      auto request = ParseBody<pb::AlterTopicRequest>(body, type);
      if (!request.ok()) return reply(request.status());
      auto done = [reply](Result<pb::TopicDescription> altered) {
        if (!altered.ok()) return reply(altered.status());
        pb::AlterTopicResponse out;
        *out.mutable_topic() = std::move(*altered);
        reply(Encode(out));
      };
      return meta_ ? meta_->AlterTopic(*request, done) : broker_.AlterTopic(*request, done);
    }
    case MessageType::kDeleteTopic: {
      auto request = ParseBody<pb::DeleteTopicRequest>(body, type);
      if (!request.ok()) return reply(request.status());
      auto done = [reply](Status deleted) {
        if (!deleted.ok()) return reply(deleted);
        reply(Encode(pb::DeleteTopicResponse()));
      };
      return meta_ ? meta_->DeleteTopic(*request, done) : broker_.DeleteTopic(*request, done);
    }
    case MessageType::kDescribeTopic: {
      auto request = ParseBody<pb::DescribeTopicRequest>(body, type);
      if (!request.ok()) return reply(request.status());
      auto described = broker_.DescribeTopic(*request);
      if (!described.ok()) return reply(described.status());
      if (meta_) meta_->Decorate(&*described);
      pb::DescribeTopicResponse out;
      *out.mutable_topic() = std::move(*described);
      return reply(Encode(out));
    }
    case MessageType::kListTopics: {
      auto request = ParseBody<pb::ListTopicsRequest>(body, type);
      if (!request.ok()) return reply(request.status());
      pb::ListTopicsResponse listed = broker_.ListTopics();
      if (meta_) {
        for (auto& t : *listed.mutable_topics()) meta_->Decorate(&t);
      }
      return reply(Encode(listed));
    }
    case MessageType::kMetadata: {
      auto request = ParseBody<pb::MetadataRequest>(body, type);
      if (!request.ok()) return reply(request.status());
      if (replicas_ != nullptr) return reply(Encode(replicas_->Metadata(*request)));
      pb::MetadataResponse out;
      // Held in a local: a range-for over a member of a temporary would
      // outlive it (before C++23).
      const pb::ListTopicsResponse listed = broker_.ListTopics();
      for (const auto& d : listed.topics()) {
        if (request->topics_size() > 0 &&
            std::find(request->topics().begin(), request->topics().end(), d.name()) ==
                request->topics().end()) {
          continue;
        }
        pb::TopicMetadata* tm = out.add_topics();
        tm->set_name(d.name());
        for (const auto& p : d.partitions()) tm->add_partitions()->set_partition(p.partition());
      }
      return reply(Encode(out));
    }
    case MessageType::kInitProducer: {
      auto request = ParseBody<pb::InitProducerRequest>(body, type);
      if (!request.ok()) return reply(request.status());
      if (meta_ == nullptr) {
        return reply(InvalidArgument("named producers need the cluster's metadata"));
      }
      return meta_->InitProducer(*request, [reply](Result<pb::InitProducerResponse> r) {
        ReplyWith(reply, std::move(r));
      });
    }
    case MessageType::kTransferLeader: {
      auto request = ParseBody<pb::TransferLeaderRequest>(body, type);
      if (!request.ok()) return reply(request.status());
      if (replicas_ == nullptr) {
        return reply(InvalidArgument("this node runs alone: its partitions have one replica"));
      }
      return ReplyWith(reply, replicas_->TransferLeader(*request));
    }
    case MessageType::kPublish: {
      auto request = ParseBody<pb::PublishRequest>(body, type);
      if (!request.ok()) return reply(request.status());
      return broker_.Publish(*request, std::move(frames), [reply](Result<pb::PublishResponse> r) {
        ReplyWith(reply, std::move(r));
      });
    }
    case MessageType::kFetch: {
      auto request = ParseBody<pb::FetchRequest>(body, type);
      if (!request.ok()) return reply(request.status());
      return broker_.Fetch(*request, [reply](Result<broker::FetchReply> r) {
        if (!r.ok()) return reply(r.status());
        EncodedReply out = Encode(r->response);
        out.batches = std::move(r->batches);
        reply(std::move(out));
      });
    }
    case MessageType::kListOffsets: {
      auto request = ParseBody<pb::ListOffsetsRequest>(body, type);
      if (!request.ok()) return reply(request.status());
      return ReplyWith(reply, broker_.ListOffsets(*request));
    }
    case MessageType::kJoinGroup: {
      auto request = ParseBody<pb::JoinGroupRequest>(body, type);
      if (!request.ok()) return reply(request.status());
      return broker_.JoinGroup(*request, connection, [reply](Result<pb::JoinGroupResponse> joined) {
        ReplyWith(reply, std::move(joined));
      });
    }
    case MessageType::kHeartbeat: {
      auto request = ParseBody<pb::HeartbeatRequest>(body, type);
      if (!request.ok()) return reply(request.status());
      return ReplyWith(reply, broker_.Heartbeat(*request, connection));
    }
    case MessageType::kLeaveGroup: {
      auto request = ParseBody<pb::LeaveGroupRequest>(body, type);
      if (!request.ok()) return reply(request.status());
      Status left = broker_.LeaveGroup(*request);
      if (!left.ok()) return reply(left);
      return reply(Encode(pb::LeaveGroupResponse()));
    }
    case MessageType::kSettle: {
      auto request = ParseBody<pb::SettleRequest>(body, type);
      if (!request.ok()) return reply(request.status());
      return ReplyWith(reply, broker_.Settle(*request));
    }
    case MessageType::kDescribeGroup: {
      auto request = ParseBody<pb::DescribeGroupRequest>(body, type);
      if (!request.ok()) return reply(request.status());
      auto described = broker_.DescribeGroup(*request);
      if (!described.ok()) return reply(described.status());
      pb::DescribeGroupResponse out;
      *out.mutable_group() = std::move(*described);
      return reply(Encode(out));
    }
    case MessageType::kListGroups: {
      auto request = ParseBody<pb::ListGroupsRequest>(body, type);
      if (!request.ok()) return reply(request.status());
      return reply(Encode(broker_.ListGroups(*request)));
    }
    case MessageType::kResetGroupOffsets: {
      auto request = ParseBody<pb::ResetGroupOffsetsRequest>(body, type);
      if (!request.ok()) return reply(request.status());
      auto reset = broker_.ResetGroupOffsets(*request);
      if (!reset.ok()) return reply(reset.status());
      pb::ResetGroupOffsetsResponse out;
      *out.mutable_group() = std::move(*reset);
      return reply(Encode(out));
    }
    default:
      break;
  }
  const std::string_view name = protocol::MessageTypeName(type);
  if (!name.empty()) {
    return reply(InvalidArgument("a client may not send " + std::string(name) + " messages"));
  }
  reply(InvalidArgument("unknown message type " + std::to_string(type)));
}

}  // namespace sprawl::node
