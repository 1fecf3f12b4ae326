#include "core/broker/broker.h"

#include <algorithm>

namespace sprawl::broker {

Broker::Broker(storage::Store& store, const Clock& clock, metrics::Registry& registry, Post post,
               BrokerOptions options)
    : post_(std::move(post)),
      options_(options),
      metrics_(registry),
      topics_(store),
      pipeline_(
          store, clock, metrics_, post_, options_,
          [this](const std::string& topic, uint32_t partition) { OnCommitted(topic, partition); }),
      fetches_(topics_, clock, metrics_, options_),
      groups_(store, topics_, pipeline_, clock, metrics_, post_) {}

Broker::~Broker() = default;

Status Broker::Open() {
  SPRAWL_RETURN_IF_ERROR(topics_.Load());
  // Before the groups: their cursors are checked against the commit index.
  for (const Topic* topic : topics_.List()) SPRAWL_RETURN_IF_ERROR(ServePartitions(*topic));
  return groups_.Load();
}

Status Broker::ServePartitions(const Topic& topic) {
  for (uint32_t p = 0; p < topic.partitions.size(); ++p) {
    SPRAWL_RETURN_IF_ERROR(pipeline_.AddPartition(topic.name, p, topic.partitions[p]));
  }
  return Status::Ok();
}

Result<pb::TopicDescription> Broker::CreateTopic(const pb::CreateTopicRequest& request) {
  SPRAWL_ASSIGN_OR_RETURN(const Topic* topic, topics_.Create(request.name(), request.config()));
  SPRAWL_RETURN_IF_ERROR(ServePartitions(*topic));
  return TopicRegistry::Describe(*topic);
}

Result<pb::TopicDescription> Broker::AlterTopic(const pb::AlterTopicRequest& request) {
  SPRAWL_ASSIGN_OR_RETURN(const Topic* topic, topics_.Alter(request.name(), request.config()));
  SPRAWL_RETURN_IF_ERROR(ServePartitions(*topic));
  groups_.OnTopicAltered(*topic);
  return TopicRegistry::Describe(*topic);
}

Status Broker::DeleteTopic(const pb::DeleteTopicRequest& request) {
  SPRAWL_RETURN_IF_ERROR(topics_.Delete(request.name()));
  groups_.DropTopic(request.name());
  pipeline_.DropTopic(request.name());
  fetches_.DropTopic(request.name());
  return Status::Ok();
}

Result<pb::TopicDescription> Broker::DescribeTopic(const pb::DescribeTopicRequest& request) const {
  SPRAWL_ASSIGN_OR_RETURN(const Topic* topic, topics_.Find(request.name()));
  return TopicRegistry::Describe(*topic);
}

pb::ListTopicsResponse Broker::ListTopics() const {
  pb::ListTopicsResponse out;
  for (const Topic* topic : topics_.List()) *out.add_topics() = TopicRegistry::Describe(*topic);
  return out;
}

void Broker::Publish(const pb::PublishRequest& request, std::vector<std::string> batches,
                     std::function<void(Result<pb::PublishResponse>)> done) {
  auto topic = topics_.Find(request.topic());
  if (!topic.ok()) return done(topic.status());
  if (request.batches_size() == 0) return done(InvalidArgument("a publish request needs a batch"));
  if (static_cast<size_t>(request.batches_size()) != batches.size()) {
    return done(InvalidArgument("the request lists " + std::to_string(request.batches_size()) +
                                " batches but carries " + std::to_string(batches.size())));
  }
  pipeline_.Publish(**topic, request, std::move(batches), std::move(done));
}

void Broker::OnCommitted(const std::string& topic, uint32_t partition) {
  groups_.OnCommitted(topic);
  fetches_.OnCommitted(topic, partition);
}

void Broker::Fetch(const pb::FetchRequest& request, std::function<void(Result<FetchReply>)> done) {
  fetches_.Fetch(request, std::move(done));
}

Result<pb::ListOffsetsResponse> Broker::ListOffsets(const pb::ListOffsetsRequest& request) const {
  return fetches_.ListOffsets(request);
}

Result<pb::JoinGroupResponse> Broker::JoinGroup(const pb::JoinGroupRequest& request,
                                                const std::string& connection) {
  return groups_.JoinGroup(request, connection);
}

Result<pb::HeartbeatResponse> Broker::Heartbeat(const pb::HeartbeatRequest& request,
                                                const std::string& connection) {
  return groups_.Heartbeat(request, connection);
}

Status Broker::LeaveGroup(const pb::LeaveGroupRequest& request) {
  return groups_.LeaveGroup(request);
}

Result<pb::SettleResponse> Broker::Settle(const pb::SettleRequest& request) {
  return groups_.Settle(request);
}

Result<pb::GroupDescription> Broker::DescribeGroup(const pb::DescribeGroupRequest& request) const {
  return groups_.DescribeGroup(request);
}

pb::ListGroupsResponse Broker::ListGroups(const pb::ListGroupsRequest& request) const {
  return groups_.ListGroups(request);
}

Result<pb::GroupDescription> Broker::ResetGroupOffsets(
    const pb::ResetGroupOffsetsRequest& request) {
  return groups_.ResetOffsets(request.topic(), request.group(),
                              [&](uint32_t partition) -> Result<uint64_t> {
                                pb::ListOffsetsRequest list;
                                list.set_topic(request.topic());
                                list.set_partition(partition);
                                list.set_spec(request.spec());
                                list.set_timestamp_ms(request.timestamp_ms());
                                list.set_offset(request.offset());
                                SPRAWL_ASSIGN_OR_RETURN(auto offset, fetches_.ListOffsets(list));
                                return offset.offset();
                              });
}

void Broker::CheckpointGroups() { groups_.Checkpoint(); }

void Broker::Tick() {
  fetches_.Tick();
  groups_.Tick();
}

int64_t Broker::NextDeadlineNanos() const {
  return std::min(fetches_.NextDeadlineNanos(), groups_.NextDeadlineNanos());
}

}  // namespace sprawl::broker
