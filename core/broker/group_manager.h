#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/broker/batch_slicer.h"
#include "core/broker/broker_metrics.h"
#include "core/broker/group_coordinator.h"
#include "core/broker/parked_fetches.h"
#include "core/broker/publish_pipeline.h"
#include "core/broker/replication_hook.h"
#include "core/broker/topic_registry.h"
#include "core/protocol/messages.h"
#include "core/storage/store.h"
#include "core/util/clock.h"

namespace sprawl::broker {

// The consumer groups of a node: joining, pushing deliveries within credits up
// to the commit index, settling, redelivery, dead letters (published through
// the pipeline) and cursor checkpoints. A member is bound to the connection it
// joined from: deliveries go there through the sink. Runs on the node's event
// loop.
class GroupManager {
 public:
  using Post = std::function<void(std::function<void()>)>;
  using DeliverySink = std::function<void(const std::string& connection,
                                          protocol::pb::DeliverPush push, Batches batches)>;

  // Whether a topic serves groups (false while it is being deleted).
  using Serving = std::function<bool(const std::string& topic)>;

  // Every reference must outlive the manager.
  GroupManager(storage::Store& store, const TopicRegistry& topics, PublishPipeline& pipeline,
               const Clock& clock, BrokerMetrics& metrics, Post post, Serving serving);

  // Loads the stored groups; cursors past a partition's commit index start
  // over at it.
  Status Load();

  void SetDeliverySink(DeliverySink sink) { deliver_ = std::move(sink); }
  // Joins (or rejoins) a member; `done` runs on the loop. A new group's
  // record is written first, without the loop waiting for it: joins of the
  // same group meanwhile wait for that write and then join the group.
  using JoinDone = std::function<void(Result<protocol::pb::JoinGroupResponse>)>;
  void JoinGroup(const protocol::pb::JoinGroupRequest& request, const std::string& connection,
                 JoinDone done);
  Result<protocol::pb::HeartbeatResponse> Heartbeat(const protocol::pb::HeartbeatRequest& request,
                                                    const std::string& connection);
  Status LeaveGroup(const protocol::pb::LeaveGroupRequest& request);
  Result<protocol::pb::SettleResponse> Settle(const protocol::pb::SettleRequest& request);
  Result<protocol::pb::GroupDescription> DescribeGroup(
      const protocol::pb::DescribeGroupRequest& request) const;
  protocol::pb::ListGroupsResponse ListGroups(const protocol::pb::ListGroupsRequest& request) const;
  // Moves every cursor of the group to target(partition). NOT_FOUND for an
  // unknown group; target's errors change nothing.
  Result<protocol::pb::GroupDescription> ResetOffsets(
      const std::string& topic, const std::string& group,
      const std::function<Result<uint64_t>(uint32_t partition)>& target);
  // Writes every changed cursor now; returns once queued. A group of a
  // replicated topic proposes its cursors to its home partition's Raft group
  // instead, and every replica stores them (ApplyCheckpoint).
  void Checkpoint();

  // Replicated topics: a group is coordinated by the leader of the topic's
  // home partition (kGroupHomePartition); other nodes answer NOT_LEADER with
  // a hint, and describe the group from its replicated checkpoint. Null
  // (one node) serves every group here.
  void SetReplicationHook(ReplicationHook* hook) { replication_ = hook; }
  // A checkpoint (EncodeGroupCheckpointEntry) committed in a partition of
  // `topic`: stored as the group's records, which the next coordinator
  // loads. One that does not decode is skipped alike on every replica.
  void ApplyCheckpoint(const std::string& topic, std::string_view entry);

  // The commit index of a partition of `topic` moved: deliver what is new.
  void OnCommitted(const std::string& topic);
  // A topic's config or partition count changed.
  void OnTopicAltered(const Topic& topic);
  // A topic is being deleted: its groups go from memory now, so that no
  // later checkpoint writes their records again. Returns the disk work that
  // deletes their records, for a worker thread (it touches only the store).
  std::function<void()> DropTopic(const std::string& topic);

  // Runs what is due: sessions, ack deadlines, deferred dead letters, checkpoints.
  void Tick();
  // When Tick next has work (monotonic nanoseconds); INT64_MAX when none.
  int64_t NextDeadlineNanos() const;

 private:
  struct Group {
    std::unique_ptr<GroupCoordinator> coordinator;
    std::set<uint32_t> dirty;  // partitions whose cursor changed since the last checkpoint
    bool latest = false;       // where it started (its record)
    // Replicated topics: the home partition's leadership term this node
    // coordinates the group in; 0 when it does not (loaded at start-up).
    uint64_t term = 0;
  };
  using GroupId = std::pair<std::string, std::string>;  // (topic, group)

  // The home partition's route when this node coordinates group `id` now;
  // NOT_LEADER (with the leader's hint) when another node does or none is
  // ready yet. A kLocal route for an unreplicated topic.
  Result<PartitionRoute> CoordinatorRoute(const GroupId& id) const;
  // CoordinatorRoute, and the group in memory as of that leadership: a group
  // held from an earlier term, or loaded at start-up, is replaced by its
  // replicated records; one this node coordinated in a term it no longer
  // leads is dropped (its members rejoin at the coordinator).
  Status Coordinate(const GroupId& id);
  // One stored group (its record's value `start`, and its cursors) into
  // memory.
  Status LoadGroup(const std::string& topic, const std::string& group, const std::string& start);
  // The same, as a value; `seed` drives its member ids.
  Result<Group> ReadGroup(const std::string& topic, const std::string& group,
                          const std::string& start, uint64_t seed) const;
  // The value of the group's record ("earliest" or "latest"); nullopt when
  // it has none.
  Result<std::optional<std::string>> StoredGroupStart(const GroupId& id) const;

  Result<Group*> FindGroup(const std::string& topic, const std::string& group);
  Result<const Group*> FindGroup(const std::string& topic, const std::string& group) const;
  CursorConfig CursorConfigOf(const TopicConfig& config) const;
  Result<DeliveryCursor> StartCursor(const Topic& topic, uint32_t partition, bool latest) const;
  // A new group in memory, once its record is written (OK when it exists).
  Status CreateGroup(const GroupId& id, bool latest);
  // A member's flow control, validated: unsettled messages and bytes at most.
  struct Credits {
    uint32_t messages = 0;
    uint64_t bytes = 0;
  };
  // Joins a member to the existing group `id`.
  protocol::pb::JoinGroupResponse Join(const GroupId& id,
                                       const protocol::pb::JoinGroupRequest& request,
                                       const std::string& connection, uint32_t session,
                                       const Credits& credits);
  // Pushes what the group's members may receive now.
  void Pump(Group& group);
  // Publishes each letter to the dead letter topic through the pipeline; a
  // letter refused for capacity is tried again on a later tick.
  void MoveToDeadLetters(const GroupId& id, std::vector<PartitionDeadLetter> letters);
  void CompleteDeadLetter(const GroupId& id, uint32_t partition, uint64_t offset);
  protocol::pb::GroupDescription DescribeGroupState(const Group& group) const;
  int64_t NowMs() const { return clock_.MonotonicNanos() / 1'000'000; }

  storage::Store& store_;
  const TopicRegistry& topics_;
  PublishPipeline& pipeline_;
  const Clock& clock_;
  BrokerMetrics& metrics_;
  Post post_;
  Serving serving_;
  // Groups whose record is being written: the joins waiting for it.
  std::map<GroupId, std::vector<std::function<void()>>> creating_;
  // Completions from the storage writer check it: the manager may be gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  SliceResumeCache slice_resume_;  // group deliveries' positions in large batches
  std::map<GroupId, Group> groups_;
  ReplicationHook* replication_ = nullptr;
  DeliverySink deliver_;
  // Dead letters the pipeline refused for capacity, tried again on a tick.
  std::vector<std::pair<GroupId, PartitionDeadLetter>> deferred_letters_;
  int64_t deferred_letters_at_ms_ = 0;
  int64_t last_checkpoint_ms_ = 0;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace sprawl::broker
