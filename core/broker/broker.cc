#include "core/broker/broker.h"

#include <algorithm>

#include "core/util/logging.h"

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
      groups_(store, topics_, pipeline_, clock, metrics_, post_,
              [this](const std::string& topic) { return !BeingDeleted(topic); }) {}

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

Status Broker::CheckNotInFlight(std::string_view topic) const {
  auto it = admin_in_flight_.find(topic);
  if (it == admin_in_flight_.end()) return Status::Ok();
  return Status(ErrorCode::kRetryAfter, "topic '" + std::string(topic) + "' is being " +
                                            it->second.what + "; retry once that completes");
}

bool Broker::BeingDeleted(std::string_view topic) const {
  auto it = admin_in_flight_.find(topic);
  return it != admin_in_flight_.end() && std::string_view(it->second.what) == "deleted";
}

void Broker::Administer(const std::string& topic, AdminInFlight op, std::function<Status()> work,
                        std::function<void(Status)> then) {
  admin_in_flight_[topic] = std::move(op);
  admin_.Submit([this, alive = std::weak_ptr<bool>(alive_), topic, work = std::move(work),
                 then = std::move(then)] {
    Status status = work();
    post_([this, alive, topic, status = std::move(status), then] {
      if (alive.expired()) return;
      admin_in_flight_.erase(topic);
      then(status);
    });
  });
}

void Broker::CreateTopic(const pb::CreateTopicRequest& request, TopicDone done) {
  if (Status s = CheckNotInFlight(request.name()); !s.ok()) return done(s);
  auto checked = topics_.CheckCreate(request.name(), request.config());
  if (!checked.ok()) return done(checked.status());
  // The dead letter topic must not vanish while this one is being created.
  if (Status s = CheckNotInFlight(checked->config.dead_letter_topic); !s.ok()) return done(s);
  auto topic = std::make_shared<Topic>(std::move(*checked));
  Administer(
      topic->name, {"created", topic->config.dead_letter_topic},
      [this, topic] { return topics_.WriteTopic(*topic); },
      [this, topic, done = std::move(done)](Status written) {
        if (!written.ok()) return done(written);
        const Topic* installed = topics_.Install(std::move(*topic));
        if (Status s = ServePartitions(*installed); !s.ok()) return done(s);
        done(TopicRegistry::Describe(*installed));
      });
}

void Broker::AlterTopic(const pb::AlterTopicRequest& request, TopicDone done) {
  if (Status s = CheckNotInFlight(request.name()); !s.ok()) return done(s);
  auto checked = topics_.CheckAlter(request.name(), request.config());
  if (!checked.ok()) return done(checked.status());
  if (Status s = CheckNotInFlight(checked->config.dead_letter_topic); !s.ok()) return done(s);
  auto topic = std::make_shared<Topic>(std::move(*checked));
  Administer(
      topic->name, {"altered", topic->config.dead_letter_topic},
      [this, topic] { return topics_.WriteTopic(*topic); },
      [this, topic, done = std::move(done)](Status written) {
        if (!written.ok()) return done(written);
        const Topic* installed = topics_.Install(std::move(*topic));
        if (Status s = ServePartitions(*installed); !s.ok()) return done(s);
        groups_.OnTopicAltered(*installed);
        done(TopicRegistry::Describe(*installed));
      });
}

void Broker::DropPartitionRecords(const std::string& topic, uint32_t partition,
                                  std::function<void(Status)> done) {
  auto found = topics_.Find(topic);
  if (!found.ok()) return done(found.status());
  if (partition >= (*found)->partitions.size()) {
    return done(NotFound("topic '" + topic + "' has no partition " + std::to_string(partition)));
  }
  std::shared_ptr<storage::PartitionLog> log = (*found)->partitions[partition];
  admin_.Submit([this, alive = std::weak_ptr<bool>(alive_), log, done = std::move(done)] {
    Status status = log->Reset();
    post_([alive, status = std::move(status), done] {
      if (!alive.expired()) done(status);
    });
  });
}

void Broker::DeleteTopic(const pb::DeleteTopicRequest& request, std::function<void(Status)> done) {
  const std::string& name = request.name();
  if (Status s = CheckNotInFlight(name); !s.ok()) return done(s);
  if (Status s = topics_.CheckDelete(name); !s.ok()) return done(s);
  for (const auto& [other, op] : admin_in_flight_) {
    if (op.dead_letter_topic == name) {
      return done(Status(ErrorCode::kRetryAfter, "topic '" + other + "' naming '" + name +
                                                     "' as its dead letter topic is being " +
                                                     op.what + "; retry once that completes"));
    }
  }
  const auto partitions = static_cast<uint32_t>((*topics_.Find(name))->partitions.size());
  // The topic stops serving now: publishes, fetches and groups in flight get
  // NOT_FOUND, and the groups go before any of their checkpoints could be
  // queued behind the deletion of their records.
  std::function<void()> drop_group_records = groups_.DropTopic(name);
  pipeline_.DropTopic(name);
  fetches_.DropTopic(name);
  Administer(
      name, {"deleted", ""},
      [this, name, partitions, drop_group_records]() -> Status {
        SPRAWL_RETURN_IF_ERROR(topics_.DropTopic(name, partitions));
        drop_group_records();
        return Status::Ok();
      },
      [this, name, done = std::move(done)](Status dropped) {
        if (dropped.ok()) {
          topics_.Erase(name);
          return done(Status::Ok());
        }
        // The topic stays; it serves again (its groups come back on restart).
        log::Error("topic not deleted", {{"topic", name}, {"error", dropped.ToString()}});
        if (auto topic = topics_.Find(name); topic.ok()) {
          if (Status s = ServePartitions(**topic); !s.ok()) {
            log::Error("topic not served again", {{"topic", name}, {"error", s.ToString()}});
          }
        }
        done(dropped);
      });
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
  if (BeingDeleted(request.topic())) {
    return done(NotFound("topic '" + request.topic() + "' is being deleted"));
  }
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
  if (BeingDeleted(request.topic())) {
    return done(NotFound("topic '" + request.topic() + "' is being deleted"));
  }
  Status held = CheckHeld(request.topic(), request.partition());
  if (!held.ok()) return done(held);
  fetches_.Fetch(request, std::move(done));
}

Result<pb::ListOffsetsResponse> Broker::ListOffsets(const pb::ListOffsetsRequest& request) const {
  SPRAWL_RETURN_IF_ERROR(CheckHeld(request.topic(), request.partition()));
  return fetches_.ListOffsets(request);
}

void Broker::JoinGroup(const pb::JoinGroupRequest& request, const std::string& connection,
                       GroupManager::JoinDone done) {
  if (replication_ != nullptr) {
    auto topic = topics_.Find(request.topic());
    if (topic.ok()) {
      // Deliveries read each partition's log here: every partition must be.
      for (uint32_t p = 0; p < (*topic)->partitions.size(); ++p) {
        PartitionRoute route = replication_->Route(request.topic(), p);
        if (route.HoldsData()) continue;
        return done(NotLeader("consumer groups of topic '" + request.topic() +
                                  "' are served by a node holding all its partitions; this "
                                  "node holds no replica of partition " +
                                  std::to_string(p),
                              route.hint));
      }
    }
  }
  groups_.JoinGroup(request, connection, std::move(done));
}

Status Broker::CheckHeld(const std::string& topic, uint32_t partition) const {
  if (replication_ == nullptr) return Status::Ok();
  PartitionRoute route = replication_->Route(topic, partition);
  if (route.HoldsData()) return Status::Ok();
  return NotLeader("this node holds no replica of partition " + std::to_string(partition) +
                       " of topic '" + topic + "'",
                   route.hint);
}

void Broker::SetReplicationHook(ReplicationHook* hook) {
  replication_ = hook;
  pipeline_.SetReplicationHook(hook);
  groups_.SetReplicationHook(hook);
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
