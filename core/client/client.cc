#include "core/client/client.h"

#include <google/protobuf/arena.h>

namespace sprawl::client {

using protocol::MessageType;

Result<std::unique_ptr<Client>> Client::Connect(const ClientConfig& config) {
  transport::ClientOptions options;
  options.request_timeout = config.request_timeout;
  SPRAWL_ASSIGN_OR_RETURN(auto connection, RoutingConnection::Connect(config.server, options));
  std::unique_ptr<Client> client(new Client(config, std::move(connection)));
  Client* raw = client.get();
  client->connection_->SetPushHandler([raw](transport::Reply push) { raw->OnPush(push); });
  return client;
}

void Client::RoutePushes(const std::string& topic, const std::string& group, PushHandler handler) {
  MutexLock lock(routes_mu_);
  if (handler) {
    routes_[{topic, group}] = std::move(handler);
  } else {
    routes_.erase({topic, group});
  }
}

void Client::OnPush(transport::Reply& push) {
  if (push.header.type != static_cast<uint16_t>(MessageType::kDeliver)) return;
  // On an arena: a push carries one Delivery per record, which would
  // otherwise be an allocation each.
  google::protobuf::Arena arena;
  auto* deliver = google::protobuf::Arena::CreateMessage<pb::DeliverPush>(&arena);
  if (!deliver->ParseFromString(push.body)) return;
  PushHandler handler;
  {
    MutexLock lock(routes_mu_);
    auto it = routes_.find({deliver->topic(), deliver->group()});
    if (it == routes_.end()) return;
    handler = it->second;
  }
  handler(push, *deliver);
}

Client::~Client() { connection_->Close(); }

Result<pb::PingResponse> Client::Ping() {
  return Request<pb::PingResponse>(MessageType::kPing, pb::PingRequest());
}

Result<pb::MetadataResponse> Client::Metadata(const std::vector<std::string>& topics) {
  pb::MetadataRequest request;
  for (const std::string& t : topics) request.add_topics(t);
  return Request<pb::MetadataResponse>(MessageType::kMetadata, request);
}

Result<pb::TopicDescription> Client::CreateTopic(const std::string& name,
                                                 const pb::TopicConfig& config) {
  pb::CreateTopicRequest request;
  request.set_name(name);
  *request.mutable_config() = config;
  SPRAWL_ASSIGN_OR_RETURN(auto r,
                          Request<pb::CreateTopicResponse>(MessageType::kCreateTopic, request));
  return std::move(*r.mutable_topic());
}

Result<pb::TopicDescription> Client::AlterTopic(const std::string& name,
                                                const pb::TopicConfig& patch) {
  pb::AlterTopicRequest request;
  request.set_name(name);
  *request.mutable_config() = patch;
  SPRAWL_ASSIGN_OR_RETURN(auto r,
                          Request<pb::AlterTopicResponse>(MessageType::kAlterTopic, request));
  return std::move(*r.mutable_topic());
}

Status Client::DeleteTopic(const std::string& name) {
  pb::DeleteTopicRequest request;
  request.set_name(name);
  return Request<pb::DeleteTopicResponse>(MessageType::kDeleteTopic, request).status();
}

Result<pb::TopicDescription> Client::DescribeTopic(const std::string& name) {
  pb::DescribeTopicRequest request;
  request.set_name(name);
  SPRAWL_ASSIGN_OR_RETURN(auto r,
                          Request<pb::DescribeTopicResponse>(MessageType::kDescribeTopic, request));
  return std::move(*r.mutable_topic());
}

Result<std::vector<pb::TopicDescription>> Client::ListTopics() {
  SPRAWL_ASSIGN_OR_RETURN(
      auto r, Request<pb::ListTopicsResponse>(MessageType::kListTopics, pb::ListTopicsRequest()));
  return std::vector<pb::TopicDescription>(r.topics().begin(), r.topics().end());
}

Result<uint64_t> Client::ListOffset(const std::string& topic, uint32_t partition,
                                    pb::OffsetSpec spec, int64_t timestamp_ms, uint64_t offset) {
  pb::ListOffsetsRequest request;
  request.set_topic(topic);
  request.set_partition(partition);
  request.set_spec(spec);
  request.set_timestamp_ms(timestamp_ms);
  request.set_offset(offset);
  SPRAWL_ASSIGN_OR_RETURN(auto r,
                          Request<pb::ListOffsetsResponse>(MessageType::kListOffsets, request));
  return r.offset();
}

pb::FetchRequest FetchRequestFor(const std::string& topic, uint32_t partition, uint64_t offset,
                                 std::chrono::milliseconds max_wait, uint32_t max_bytes) {
  pb::FetchRequest request;
  request.set_topic(topic);
  request.set_partition(partition);
  request.set_offset(offset);
  request.set_max_bytes(max_bytes);
  request.set_max_wait_ms(static_cast<uint32_t>(max_wait.count()));
  return request;
}

Result<FetchResult> DecodeFetchReply(const std::string& topic, uint32_t partition, uint64_t offset,
                                     const transport::Reply& reply) {
  SPRAWL_RETURN_IF_ERROR(reply.status());
  pb::FetchResponse response;
  if (!response.ParseFromString(reply.body)) return DataCorruption("fetch reply does not decode");
  FetchResult out;
  out.next_offset = response.next_offset();
  out.high_watermark = response.high_watermark();
  for (const std::string& batch : reply.batches) {
    SPRAWL_ASSIGN_OR_RETURN(auto messages,
                            DecodeBatch(topic, partition, batch, offset, response.next_offset()));
    for (auto& m : messages) out.messages.push_back(std::move(m));
  }
  return out;
}

Result<FetchResult> Client::Fetch(const std::string& topic, uint32_t partition, uint64_t offset,
                                  std::chrono::milliseconds max_wait, uint32_t max_bytes) {
  const pb::FetchRequest request = FetchRequestFor(topic, partition, offset, max_wait, max_bytes);
  SPRAWL_ASSIGN_OR_RETURN(auto reply, connection_->Call(static_cast<uint16_t>(MessageType::kFetch),
                                                        request.SerializeAsString(), {},
                                                        config_.request_timeout + max_wait));
  return DecodeFetchReply(topic, partition, offset, reply);
}

Result<pb::TransferLeaderResponse> Client::TransferLeader(const std::string& topic,
                                                          uint32_t partition,
                                                          const std::string& node) {
  pb::TransferLeaderRequest request;
  request.set_topic(topic);
  request.set_partition(partition);
  request.set_node(node);
  return Request<pb::TransferLeaderResponse>(MessageType::kTransferLeader, request);
}

Result<pb::InitProducerResponse> Client::InitProducer(const std::string& name) {
  pb::InitProducerRequest request;
  request.set_name(name);
  return Request<pb::InitProducerResponse>(MessageType::kInitProducer, request);
}

Result<pb::GroupDescription> Client::DescribeGroup(const std::string& topic,
                                                   const std::string& group) {
  pb::DescribeGroupRequest request;
  request.set_topic(topic);
  request.set_group(group);
  SPRAWL_ASSIGN_OR_RETURN(auto r,
                          Request<pb::DescribeGroupResponse>(MessageType::kDescribeGroup, request));
  return std::move(*r.mutable_group());
}

Result<std::vector<pb::GroupDescription>> Client::ListGroups(const std::string& topic) {
  pb::ListGroupsRequest request;
  request.set_topic(topic);
  SPRAWL_ASSIGN_OR_RETURN(auto r,
                          Request<pb::ListGroupsResponse>(MessageType::kListGroups, request));
  return std::vector<pb::GroupDescription>(r.groups().begin(), r.groups().end());
}

Result<pb::GroupDescription> Client::ResetGroupOffsets(const std::string& topic,
                                                       const std::string& group,
                                                       pb::OffsetSpec spec, int64_t timestamp_ms,
                                                       uint64_t offset) {
  pb::ResetGroupOffsetsRequest request;
  request.set_topic(topic);
  request.set_group(group);
  request.set_spec(spec);
  request.set_timestamp_ms(timestamp_ms);
  request.set_offset(offset);
  SPRAWL_ASSIGN_OR_RETURN(
      auto r, Request<pb::ResetGroupOffsetsResponse>(MessageType::kResetGroupOffsets, request));
  return std::move(*r.mutable_group());
}

}  // namespace sprawl::client
