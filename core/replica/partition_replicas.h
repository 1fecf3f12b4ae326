#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/broker/broker.h"
#include "core/broker/replication_hook.h"
#include "core/protocol/messages.h"
#include "core/replica/record_catch_up.h"
#include "core/replication/host/raft_host.h"
#include "core/storage/store.h"
#include "core/util/metrics.h"

namespace sprawl::replica {

namespace pb = protocol::pb;

// What the node's membership tells the replicas.
struct ClusterView {
  // The client address of a live member ("" when it is not live).
  std::function<std::string(std::string_view member_id)> client_address;
  // The member id of a Raft node id ("" when unknown).
  std::function<std::string(replication::NodeId)> member_id;
  // Sends REPLICA_REMOVED for `group` to node `to` over the peer port; may
  // be lost.
  std::function<void(replication::NodeId to, replication::GroupId group)> send_removed;
};

// What the replicas count (GET /metrics).
struct ReplicaMetrics {
  explicit ReplicaMetrics(metrics::Registry& registry);
  metrics::Counter& log_compactions;   // a partition group's Raft log compacted here
  metrics::Counter& catch_ups_done;    // catch-ups that copied every record an image needed
  metrics::Counter& catch_ups_failed;  // catch-ups stopped by an error (started again later)
  metrics::Counter& catch_up_bytes;    // batch bytes copied by catch-ups
  metrics::Gauge& catch_ups_running;
};

// A topic as the cluster's metadata places it.
struct Placement {
  std::string topic_id;
  uint32_t replication_factor = 1;
  std::vector<std::vector<std::string>> assignment;  // per partition, placement order
  std::vector<uint32_t> moves;  // per partition, changes of its replica set (meta::MetaTopic)
};

// The Raft group id of a partition: a hash of its topic id and number, so a
// topic created again under the same name has new groups. Never 0 or 1 (the
// metadata group).
replication::GroupId PartitionGroupId(std::string_view topic_id, uint32_t partition);

// Every partition this node replicates as a Raft group (docs/replication.md,
// "Replicated partitions"): opens the groups of the partitions placement
// gives this node, applies their committed entries to the broker, persists
// how far each applied, and tells the broker where each partition is served
// (the broker's ReplicationHook). A partition of a topic with a replication
// factor of 1 is served by its one replica's own log, without a group.
// Loop thread only.
class PartitionReplicas : public broker::ReplicationHook {
 public:
  using Post = std::function<void(std::function<void()>)>;
  // Topic ids recorded on this node (MetaService): a topic with one whose
  // placement is not known yet (a restart before the metadata replayed) is
  // not served at all rather than served unreplicated.
  using RecordedTopicId = std::function<bool(std::string_view topic)>;

  // Everything must outlive this object.
  PartitionReplicas(std::string node_id, replication::RaftHost& host, broker::Broker& broker,
                    storage::Store& store, Post post, ClusterView view,
                    RecordedTopicId recorded_topic_id, metrics::Registry& registry);
  ~PartitionReplicas() override;

  // The metadata applied a change of `topic`: its placement now (null: the
  // topic is gone, its groups close). Routes follow at once; groups open in
  // Open once the broker holds the topic.
  void OnPlacement(const std::string& topic, const Placement* placement);
  // The broker holds `topic` as the metadata says: opens the groups of the
  // partitions this node replicates (restarting each from its stored state
  // and applied mark), and those of replicas removed while it was down that
  // left Raft state here (closed once their leader confirms); drops the
  // records that a partition this node no longer replicates left behind.
  // Errors of the store.
  Status Open(const std::string& topic);

  // Each Raft tick: compaction, and as a group's leader, its membership
  // brought in line with the partition's replica set (partition_moves.cc).
  void Tick();
  // A leader that is not its partition's preferred replica (the first of
  // its set) hands the leadership back to it once it has been a caught-up,
  // answering voter for `ticks` Raft ticks; 0 never does. Default: 600
  // (60 s, so a replica back from a restart leads again a minute later).
  void SetLeaderBalanceAfter(uint64_t ticks) { balance_after_ticks_ = ticks; }
  // REPLICA_REMOVED from a group's leader: a replica this node no longer
  // holds by the metadata closes (anything else is ignored: a stale
  // message after the node was added back).
  void OnRemoved(replication::GroupId group);

  // A graceful stop: hands every partition this node leads to its most
  // caught-up replica (Raft's TimeoutNow), so that clients find a leader at
  // once instead of after an election. Returns how many it handed.
  size_t TransferLeadership();
  // How many partition groups this node leads now.
  size_t Led() const;
  // TRANSFER_LEADER: as the partition's leader, hands its leadership to the
  // replica `member_id` (docs/protocol.md). NOT_FOUND for a topic or
  // partition that does not exist; INVALID_ARGUMENT for a member that holds
  // no replica of it, or a partition with one replica; NOT_LEADER, with the
  // leader's (or a replica's) address as its hint, on any other node.
  Result<pb::TransferLeaderResponse> TransferLeader(const pb::TransferLeaderRequest& request);

  // broker::ReplicationHook
  broker::PartitionRoute Route(std::string_view topic, uint32_t partition) const override;
  Result<broker::ProposalId> Propose(std::string_view topic, uint32_t partition,
                                     std::string batch) override;
  Status ProposeGroupCheckpoint(std::string_view topic, uint32_t partition,
                                std::string entry) override;

  // METADATA: every topic of the broker (or those asked), with this node's
  // view of each partition's leader and replicas.
  pb::MetadataResponse Metadata(const pb::MetadataRequest& request) const;
  // Fills each partition's leader, replicas and term in a description.
  void Decorate(pb::TopicDescription* description) const;

 private:
  struct Part {
    std::string topic;
    uint32_t partition = 0;
    replication::GroupId group = 0;
    std::vector<std::string> replicas;
    bool raft = false;  // a Raft group (replication factor above 1)
    bool mine = false;  // this node is a replica
    bool open = false;  // the group runs here
    // The group's state machine while open (RaftHost keeps it in place
    // until CloseGroup).
    const replication::Raft* group_state = nullptr;
    uint64_t applied_index = 0;
    uint64_t applied_term = 0;  // the term of the last entry applied since the group opened
    uint64_t applied_end = 0;   // the log offset after the last applied batch
    bool mark_dirty = false;
    bool led = false;  // this node led at `led_term` when last looked
    uint64_t led_term = 0;
    // Compaction of the group's Raft log (docs/replication.md, "Compacting a
    // partition's Raft log").
    uint64_t compacted = 0;      // the group's log starts after this index
    uint64_t compacted_end = 0;  // the log offset after the entries it covers
    // (index, log offset after it) for each batch applied since the group
    // opened here, from its applied mark on: the image at any index from the
    // first one on.
    std::deque<std::pair<uint64_t, uint64_t>> ends;
    uint64_t compact_to = 0;        // the latest compact entry applied here
    uint64_t proposed_compact = 0;  // as leader: the highest index proposed
    uint64_t batch_bytes = 0;       // batch bytes applied since the last compaction
    uint64_t last_batch_index = 0;  // the index of the last batch applied (0: none since opening)
    uint64_t ticks_since_compact = 0;
    // As leader: the tick (PartitionReplicas::ticks_) each other replica was
    // last heard from. One silent for long no longer holds compaction back.
    std::map<replication::NodeId, uint64_t> heard;
    bool failed = false;  // could not follow its group (an image it lacks records for)
    uint32_t moves = 0;   // Placement::moves: 0 forms the group with `replicas` as voters
    // As leader: the tick since which the preferred replica (the first)
    // could lead instead of this node; 0 = it does not, or this node is it.
    uint64_t unpreferred_since = 0;
    // As leader: replicas it removed, told to close until this tick.
    std::map<replication::NodeId, uint64_t> farewells;
  };
  struct TopicParts {
    Placement placement;
    std::vector<Part> parts;
  };

  const Part* FindPart(std::string_view topic, uint32_t partition) const;
  Part* PartOfGroup(replication::GroupId group);
  void Apply(replication::GroupId group, const replication::Entry& entry);
  // A snapshot of the group: this replica's own (a restart) or a leader's.
  void Restore(replication::GroupId group, const replication::Snapshot& snapshot);
  // Whether a leader's image may install now: only once this replica's log
  // holds every record it covers. Until then it copies the records it lacks
  // from `from` (RecordCatchUp) and refuses the image, which the leader
  // sends again (partition_catch_up.cc).
  bool AcceptSnapshot(replication::GroupId group, replication::NodeId from,
                      const replication::Snapshot& snapshot);
  void StartCatchUp(Part& part, replication::NodeId from, uint64_t to);
  void OnCatchUpDone(replication::GroupId group, const Status& status);
  // Appends one copied batch at the end of the partition's applied log.
  Result<uint64_t> ApplyCopiedBatch(replication::GroupId group, std::string_view batch);
  // Restarts the partition's log at `start` (RecordCatchUp::RestartAt).
  Result<uint64_t> RestartCopiedLog(replication::GroupId group, uint64_t start);
  // As leader: notes which replicas answered this tick.
  void NoteHeard(Part& part, const replication::Raft& raft);
  // A change of placement for a topic whose partitions exist: new replica
  // sets take effect (partition_moves.cc).
  void UpdateReplicas(TopicParts& topic, const Placement& placement);
  // As leader: one membership change toward `replicas` per call (add as
  // learner, promote once caught up, then remove, handing leadership over
  // first when this node leaves).
  void ReconcileMembers(Part& part, const replication::Raft& raft);
  void SendFarewells(Part& part);
  // As leader: hands the leadership to the preferred replica when due.
  void BalanceLeadership(Part& part, const replication::Raft& raft);
  // A group this node leads heard from a node outside its membership.
  void OnStranger(replication::GroupId group, replication::NodeId from);
  // Closes the group of a replica its leader removed, and drops its mark
  // and its records.
  void CloseRemoved(Part& part);
  // Whether the partition's local log holds or held any record.
  bool HoldsRecords(const Part& part) const;
  // Removes the partition's records here, off the loop
  // (Broker::DropPartitionRecords); its group does not open meanwhile.
  void DropRecords(Part& part);
  // As leader: proposes a compact entry when enough of the log is stored by
  // every replica.
  void MaybeProposeCompaction(Part& part, const replication::Raft& raft);
  // Drops the group's log through the latest compact entry, as far as the
  // applied state is known (its mark is queued before this runs).
  void CompactLog(Part& part);
  void ScheduleMarks();
  void WriteMarks();
  void CloseTopic(TopicParts& topic);
  // Stops the part's group here, drops its stored Raft state and applied
  // mark, and fails the publishes waiting on it with `why`.
  void CloseGroupHere(Part& part, const Status& why);
  std::string LeaderOf(const Part& part, uint64_t* term) const;
  std::string AnyReplicaAddress(const Part& part) const;

  const std::string node_id_;
  replication::RaftHost& host_;
  broker::Broker& broker_;
  storage::Store& store_;
  Post post_;
  ClusterView view_;
  RecordedTopicId recorded_topic_id_;
  std::map<std::string, TopicParts, std::less<>> topics_;
  std::map<replication::GroupId, std::pair<std::string, uint32_t>> by_group_;
  bool marks_scheduled_ = false;
  ReplicaMetrics metrics_;
  uint64_t ticks_ = 0;
  uint64_t balance_after_ticks_ = 600;
  // Running catch-ups, by group; at most kMaxCatchUps at a time.
  std::map<replication::GroupId, std::unique_ptr<RecordCatchUp>> catch_ups_;
  // Groups whose partition records are being dropped (DropRecords).
  std::set<replication::GroupId> dropping_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// The applied mark of a group, "replica/<group, 16 hex digits>/applied":
// version 1, the Raft index and the log offset after it (u64 each).
std::string AppliedMarkKey(replication::GroupId group);
std::string EncodeAppliedMark(uint64_t index, uint64_t end_offset);
// DATA_CORRUPTION for anything but a version-1 mark of 17 bytes.
Result<std::pair<uint64_t, uint64_t>> DecodeAppliedMark(std::string_view bytes);

}  // namespace sprawl::replica
