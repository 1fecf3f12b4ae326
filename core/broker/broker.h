#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "core/broker/batch_slicer.h"
#include "core/broker/broker_metrics.h"
#include "core/broker/broker_options.h"
#include "core/broker/group_coordinator.h"
#include "core/broker/parked_fetches.h"
#include "core/broker/publish_pipeline.h"
#include "core/broker/topic_registry.h"
#include "core/protocol/messages.h"
#include "core/storage/store.h"
#include "core/util/clock.h"

namespace sprawl::broker {

namespace pb = protocol::pb;

// The single-node broker: topics, publish with acks and idempotence (through
// the PublishPipeline), fetch by offset with long polling, consumer groups.
// Every method runs on the node's event loop thread; storage completions come
// back through `post`. Time-driven work (long-poll deadlines) runs in Tick,
// which the loop calls at NextDeadline. The term of every append is
// kSingleNodeTerm until partitions are Raft groups.
class Broker {
 public:
  using Post = std::function<void(std::function<void()>)>;
  static constexpr uint64_t kSingleNodeTerm = PublishPipeline::kSingleNodeTerm;

  // `store`, `clock` and `registry` must outlive the broker. `post` runs a
  // function on the loop thread (from any thread).
  Broker(storage::Store& store, const Clock& clock, metrics::Registry& registry, Post post,
         BrokerOptions options = {});
  ~Broker();

  // Loads the stored topics, commits what was recovered (one node) and
  // rebuilds producer state and groups from the committed logs.
  Status Open();

  Result<pb::TopicDescription> CreateTopic(const pb::CreateTopicRequest& request);
  Result<pb::TopicDescription> AlterTopic(const pb::AlterTopicRequest& request);
  Status DeleteTopic(const pb::DeleteTopicRequest& request);
  Result<pb::TopicDescription> DescribeTopic(const pb::DescribeTopicRequest& request) const;
  pb::ListTopicsResponse ListTopics() const;

  // Appends each batch (batches[i] for request.batches(i)) and calls `done`
  // once every batch has its result at the requested ack level (for ACK_NONE
  // as soon as they are appended). A request-wide error (unknown topic, a
  // batch count mismatch) fails the whole request and stores nothing;
  // otherwise each result says what happened to its batch. A batch whose
  // topic is deleted before it commits fails with NOT_FOUND.
  void Publish(const pb::PublishRequest& request, std::vector<std::string> batches,
               std::function<void(Result<pb::PublishResponse>)> done);

  // Reads committed batches from `offset`; parks the request up to
  // max_wait_ms when there is nothing new.
  void Fetch(const pb::FetchRequest& request, std::function<void(Result<FetchReply>)> done);

  Result<pb::ListOffsetsResponse> ListOffsets(const pb::ListOffsetsRequest& request) const;

  // Consumer groups (broker_groups.cc). A member is bound to the connection
  // it joined from: deliveries go there through the sink.
  using DeliverySink =
      std::function<void(const std::string& connection, pb::DeliverPush push, Batches batches)>;
  void SetDeliverySink(DeliverySink sink) { deliver_ = std::move(sink); }
  Result<pb::JoinGroupResponse> JoinGroup(const pb::JoinGroupRequest& request,
                                          const std::string& connection);
  Result<pb::HeartbeatResponse> Heartbeat(const pb::HeartbeatRequest& request,
                                          const std::string& connection);
  Status LeaveGroup(const pb::LeaveGroupRequest& request);
  Result<pb::SettleResponse> Settle(const pb::SettleRequest& request);
  Result<pb::GroupDescription> DescribeGroup(const pb::DescribeGroupRequest& request) const;
  pb::ListGroupsResponse ListGroups(const pb::ListGroupsRequest& request) const;
  Result<pb::GroupDescription> ResetGroupOffsets(const pb::ResetGroupOffsetsRequest& request);
  // Writes every group's cursors now (shutdown); returns once queued.
  void CheckpointGroups();

  // Runs what is due: expired long polls. Call at NextDeadlineNanos (monotonic).
  void Tick();
  // When Tick next has work; INT64_MAX when none.
  int64_t NextDeadlineNanos() const;

  // Whether publishes are waiting for their acks (shutdown waits for none).
  bool PublishesInProgress() const { return pipeline_.InProgress(); }

  const TopicRegistry& topics() const { return topics_; }

 private:
  struct Group {
    std::unique_ptr<GroupCoordinator> coordinator;
    std::set<uint32_t> dirty;  // partitions whose cursor changed since the last checkpoint
  };
  using GroupId = std::pair<std::string, std::string>;  // (topic, group)
  using PartitionId = std::pair<std::string, uint32_t>;

  // The commit index of `partition` moved: groups and parked fetches may go on.
  void OnCommitted(const std::string& topic, uint32_t partition);
  Result<FetchReply> ReadCommitted(const pb::FetchRequest& request) const;
  // Serves every partition of `topic` in the publish pipeline.
  Status ServePartitions(const Topic& topic);

  // Groups.
  Status LoadGroups();
  Result<Group*> FindGroup(const std::string& topic, const std::string& group);
  Result<const Group*> FindGroup(const std::string& topic, const std::string& group) const;
  CursorConfig CursorConfigOf(const TopicConfig& config) const;
  Result<DeliveryCursor> StartCursor(const Topic& topic, uint32_t partition, bool latest) const;
  // Pushes what the group's members may receive now.
  void Pump(Group& group);
  // Publishes each letter to the dead letter topic through the pipeline; a
  // letter refused for capacity is tried again on a later tick.
  void MoveToDeadLetters(const GroupId& id, std::vector<PartitionDeadLetter> letters);
  void CompleteDeadLetter(const GroupId& id, uint32_t partition, uint64_t offset);
  void TickGroups();
  pb::GroupDescription DescribeGroupState(const Group& group) const;
  void OnTopicAltered(const Topic& topic);
  void DropGroupsOf(const std::string& topic);
  int64_t NowMs() const { return clock_.MonotonicNanos() / 1'000'000; }

  storage::Store& store_;
  const Clock& clock_;
  Post post_;
  BrokerOptions options_;
  BrokerMetrics metrics_;
  SliceResumeCache slice_resume_;  // group deliveries' positions in large batches
  TopicRegistry topics_;
  PublishPipeline pipeline_;
  ParkedFetches parked_;
  std::map<GroupId, Group> groups_;
  DeliverySink deliver_;
  // Dead letters the pipeline refused for capacity, tried again on a tick.
  std::vector<std::pair<GroupId, PartitionDeadLetter>> deferred_letters_;
  int64_t deferred_letters_at_ms_ = 0;
  int64_t last_checkpoint_ms_ = 0;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace sprawl::broker
