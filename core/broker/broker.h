#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/broker/admin_executor.h"
#include "core/broker/broker_metrics.h"
#include "core/broker/broker_options.h"
#include "core/broker/fetch_handler.h"
#include "core/broker/group_manager.h"
#include "core/broker/publish_pipeline.h"
#include "core/broker/topic_registry.h"
#include "core/protocol/messages.h"
#include "core/storage/store.h"
#include "core/util/clock.h"

namespace sprawl::broker {

namespace pb = protocol::pb;

// The single-node broker: administers topics and wires the parts that serve
// them, each with one job: the PublishPipeline (publish with acks and
// idempotence), the FetchHandler (fetch by offset, long polls) and the
// GroupManager (consumer groups, deliveries, dead letters). Every method runs
// on the node's event loop thread; storage completions come back through
// `post`; so does the disk work of topic administration, which runs on the
// broker's admin worker thread. Time-driven work (long-poll deadlines) runs in Tick,
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

  // Topic administration. The request is checked on the loop (bad input
  // changes nothing and `done` runs at once); the disk work (topic record,
  // partitions) then runs on the admin worker thread in the order the calls
  // were made, and `done` runs on the loop once the change is visible. While
  // an operation on a topic is in flight, another one on the same topic (or
  // deleting the dead letter topic it names) gets RETRY_AFTER, and publishes
  // to and joins of a topic being deleted get NOT_FOUND.
  using TopicDone = std::function<void(Result<pb::TopicDescription>)>;
  void CreateTopic(const pb::CreateTopicRequest& request, TopicDone done);
  void AlterTopic(const pb::AlterTopicRequest& request, TopicDone done);
  void DeleteTopic(const pb::DeleteTopicRequest& request, std::function<void(Status)> done);
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

  // Consumer groups (GroupManager). A member is bound to the connection it
  // joined from: deliveries go there through the sink.
  using DeliverySink = GroupManager::DeliverySink;
  void SetDeliverySink(DeliverySink sink) { groups_.SetDeliverySink(std::move(sink)); }
  // `done` runs on the loop; a new group's record is written first, off the
  // loop.
  void JoinGroup(const pb::JoinGroupRequest& request, const std::string& connection,
                 GroupManager::JoinDone done);
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

  // Replicated partitions (PublishPipeline, same names): where each
  // partition is served decides whether a publish, fetch, offset lookup or
  // group join is served here or refused with NOT_LEADER and a hint.
  void SetReplicationHook(ReplicationHook* hook);
  // Where the latest epoch of each named producer family is known (the
  // cluster's metadata): PublishPipeline::SetLatestProducerEpoch.
  void SetLatestProducerEpoch(std::function<uint16_t(uint64_t family)> latest) {
    pipeline_.SetLatestProducerEpoch(std::move(latest));
  }
  Status MarkReplicated(const std::string& topic, uint32_t partition, uint64_t applied_end) {
    return pipeline_.MarkReplicated(topic, partition, applied_end);
  }
  Result<uint64_t> ApplyReplicated(const std::string& topic, uint32_t partition, uint64_t index,
                                   uint64_t term, std::string_view batch) {
    return pipeline_.ApplyReplicated(topic, partition, index, term, batch);
  }
  Result<uint64_t> RestartReplicatedAt(const std::string& topic, uint32_t partition,
                                       uint64_t start) {
    return pipeline_.RestartReplicatedAt(topic, partition, start);
  }
  void FailReplicatedProposals(const std::string& topic, uint32_t partition, const Status& why) {
    pipeline_.FailReplicatedProposals(topic, partition, why);
  }
  // Removes every record of a partition this node no longer replicates
  // (PartitionLog::Reset), on the admin worker after the topic
  // administration queued before it, as a deletion drops a topic's
  // partitions; `done` runs on the loop. NOT_FOUND for a topic or partition
  // that does not exist here.
  void DropPartitionRecords(const std::string& topic, uint32_t partition,
                            std::function<void(Status)> done);
  // A consumer group's checkpoint committed in a partition's Raft group:
  // stored here as the group's records (GroupManager::ApplyCheckpoint).
  void ApplyGroupCheckpoint(const std::string& topic, std::string_view entry) {
    groups_.ApplyCheckpoint(topic, entry);
  }

  // Queues `work` on the admin worker thread, behind the administration
  // already queued: tests hold the worker with it.
  void RunOnAdminWorkerForTesting(std::function<void()> work) { admin_.Submit(std::move(work)); }

 private:
  // An administrative operation whose disk work is in flight.
  struct AdminInFlight {
    const char* what;               // "created", "altered", "deleted"
    std::string dead_letter_topic;  // the one the new config names, if any
  };
  // RETRY_AFTER when an operation on `topic` is in flight.
  Status CheckNotInFlight(std::string_view topic) const;
  bool BeingDeleted(std::string_view topic) const;
  // Runs `work` on the admin worker, then `then` with its status on the loop;
  // `topic` counts as in flight until then.
  void Administer(const std::string& topic, AdminInFlight op, std::function<Status()> work,
                  std::function<void(Status)> then);

  // NOT_LEADER (with a hint) when this node holds no replica of the partition.
  Status CheckHeld(const std::string& topic, uint32_t partition) const;
  // The commit index of `partition` moved: groups and parked fetches may go on.
  void OnCommitted(const std::string& topic, uint32_t partition);
  // Serves every partition of `topic` in the publish pipeline.
  Status ServePartitions(const Topic& topic);

  Post post_;
  BrokerOptions options_;
  BrokerMetrics metrics_;
  TopicRegistry topics_;
  PublishPipeline pipeline_;
  FetchHandler fetches_;
  GroupManager groups_;
  std::map<std::string, AdminInFlight, std::less<>> admin_in_flight_;
  ReplicationHook* replication_ = nullptr;
  // Completions posted by the admin worker check it: the broker may be gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  // Last: destroyed first, so queued disk work finishes while the rest exists.
  AdminExecutor admin_;
};

}  // namespace sprawl::broker
