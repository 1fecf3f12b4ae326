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
#include "core/broker/group_coordinator.h"
#include "core/broker/producer_table.h"
#include "core/broker/sync_waiter.h"
#include "core/broker/topic_registry.h"
#include "core/protocol/messages.h"
#include "core/storage/store.h"
#include "core/util/clock.h"

namespace sprawl::broker {

namespace pb = protocol::pb;

struct BrokerOptions {
  // Bytes appended and not yet acknowledged before publishes get RETRY_AFTER.
  // Below the storage writer's queue bound, so an append never waits for it.
  uint64_t max_pending_publish_bytes = 32u << 20;
  // The smallest RETRY_AFTER hint; it grows with the backlog.
  uint32_t retry_after_ms = 5;
  // Longest long poll a fetch may ask for.
  uint32_t max_fetch_wait_ms = 30'000;
  // Fetches parked at once; more get RETRY_AFTER.
  size_t max_parked_fetches = 10'000;
  // Largest fetch reply.
  uint32_t max_fetch_bytes = 16u << 20;
};

// Record batches shared with the storage tiers, sent without copying.
using Batches = std::vector<storage::BatchBytes>;

struct FetchReply {
  pb::FetchResponse response;
  Batches batches;
};

// The single-node broker: topics, publish with acks and idempotence, fetch by
// offset with long polling. Every method runs on the node's event loop
// thread; storage completions come back through `post`. Time-driven work
// (long-poll deadlines) runs in Tick, which the loop calls at NextDeadline.
// The term of every append is kSingleNodeTerm until partitions are Raft groups.
class Broker {
 public:
  using Post = std::function<void(std::function<void()>)>;
  static constexpr uint64_t kSingleNodeTerm = 1;

  // `store`, `clock` and `registry` must outlive the broker. `post` runs a
  // function on the loop thread (from any thread).
  Broker(storage::Store& store, const Clock& clock, metrics::Registry& registry, Post post,
         BrokerOptions options = {});
  ~Broker();

  // Loads the stored topics and rebuilds producer state from the logs' tails.
  Status Open();

  Result<pb::TopicDescription> CreateTopic(const pb::CreateTopicRequest& request);
  Result<pb::TopicDescription> AlterTopic(const pb::AlterTopicRequest& request);
  Status DeleteTopic(const pb::DeleteTopicRequest& request);
  Result<pb::TopicDescription> DescribeTopic(const pb::DescribeTopicRequest& request) const;
  pb::ListTopicsResponse ListTopics() const;

  // Appends each batch (batches[i] for request.batches(i)) and calls `done`
  // once every batch has its result at the requested ack level (for ACK_NONE
  // as soon as they are queued). A request-wide error (unknown topic, a
  // batch count mismatch) fails the whole request and stores nothing;
  // otherwise each result says what happened to its batch.
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
  bool PublishesInProgress() const { return publishes_in_progress_ > 0; }

  const TopicRegistry& topics() const { return topics_; }

 private:
  struct PublishCall;
  struct Group {
    std::unique_ptr<GroupCoordinator> coordinator;
    std::set<uint32_t> dirty;  // partitions whose cursor changed since the last checkpoint
  };
  using GroupId = std::pair<std::string, std::string>;  // (topic, group)
  struct ParkedFetch {
    pb::FetchRequest request;
    int64_t deadline_nanos;
    std::function<void(Result<FetchReply>)> done;
  };
  using PartitionId = std::pair<std::string, uint32_t>;

  // Appends one batch; fills `call->results[index]` now or when durable.
  void PublishOne(const std::shared_ptr<PublishCall>& call, size_t index, const Topic& topic,
                  uint32_t partition, std::string batch);
  void FinishBatch(const std::shared_ptr<PublishCall>& call, size_t index);
  // A batch of `partition` became durable up to `next_offset`.
  void OnCommitted(const std::string& topic, uint32_t partition, storage::PartitionLog* log,
                   uint64_t next_offset);
  Result<FetchReply> ReadCommitted(const pb::FetchRequest& request) const;
  Status RebuildProducers(const Topic& topic);
  uint32_t RetryAfterHintMs() const;

  // Groups.
  Status LoadGroups();
  Result<Group*> FindGroup(const std::string& topic, const std::string& group);
  Result<const Group*> FindGroup(const std::string& topic, const std::string& group) const;
  CursorConfig CursorConfigOf(const TopicConfig& config) const;
  Result<DeliveryCursor> StartCursor(const Topic& topic, uint32_t partition, bool latest) const;
  // Pushes what the group's members may receive now.
  void Pump(Group& group);
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
  SyncWaiter sync_waiter_;
  bool sync_on_all_;  // acks=all needs an extra sync under this fsync policy
  uint64_t pending_publish_bytes_ = 0;
  size_t publishes_in_progress_ = 0;
  std::map<PartitionId, ProducerTable> producers_;
  std::map<PartitionId, std::vector<ParkedFetch>> parked_;
  size_t parked_count_ = 0;
  std::map<GroupId, Group> groups_;
  DeliverySink deliver_;
  int64_t last_checkpoint_ms_ = 0;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace sprawl::broker
