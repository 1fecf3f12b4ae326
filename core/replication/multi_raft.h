#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/replication/raft.h"
#include "core/util/result.h"

namespace sprawl::replication {

using GroupId = uint64_t;

// A heartbeat of one group inside a coalesced batch. `quiesce` tells the
// follower that the group is idle: it stops its election timer until the
// group wakes (any other message, or the leader's node reported down).
struct HeartbeatItem {
  GroupId group = 0;
  uint64_t term = 0;
  uint64_t commit = 0;
  bool quiesce = false;
  friend bool operator==(const HeartbeatItem&, const HeartbeatItem&) = default;
};

struct HeartbeatAck {
  GroupId group = 0;
  uint64_t term = 0;
  friend bool operator==(const HeartbeatAck&, const HeartbeatAck&) = default;
};

struct GroupMessage {
  GroupId group = 0;
  Message message;
  friend bool operator==(const GroupMessage&, const GroupMessage&) = default;
};

// Everything one node sends another in one loop turn, for every group the
// two share: heartbeats and their answers coalesced to a few bytes each,
// other messages whole.
struct PeerBatch {
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  std::vector<HeartbeatItem> heartbeats;
  std::vector<HeartbeatAck> acks;
  std::vector<GroupMessage> messages;
  friend bool operator==(const PeerBatch&, const PeerBatch&) = default;
};

inline constexpr size_t kMaxGroupsPerBatch = 1'000'000;
std::string EncodeBatch(const PeerBatch& batch);
// INVALID_ARGUMENT for anything malformed (each message as DecodeMessage
// checks it, and its from/to must match the batch's); UNSUPPORTED_VERSION
// for another version.
Result<PeerBatch> DecodeBatch(std::string_view bytes);

struct MultiRaftOptions {
  bool quiesce = true;  // idle groups stop ticking and heartbeating
};

// Every Raft group of one node, driven by one tick and one Ready cycle:
//  - one timer structure: Tick() ticks only the awake groups;
//  - idle groups quiesce: a leader whose followers all hold its whole
//    committed log sends one quiescing heartbeat and stops ticking; so do
//    its followers, until any message, proposal or OnNodeDown wakes them;
//  - outgoing messages are batched per peer per turn (Advance), with the
//    heartbeats of all groups two nodes share coalesced into that batch.
// Single-threaded, like Raft itself.
class MultiRaft {
 public:
  // Whether group `group` may install `snapshot`, sent by `from`, now. A
  // snapshot refused is dropped as if lost: its leader sends it again at the
  // next heartbeat answer, so the application can first fetch what the
  // image needs (a partition replica copying the records it lacks).
  using SnapshotGate = std::function<bool(GroupId group, NodeId from, const Snapshot& snapshot)>;

  MultiRaft(NodeId self, MultiRaftOptions options);
  // Asked before every incoming snapshot is stepped; none set: all install.
  void SetSnapshotGate(SnapshotGate gate) { snapshot_gate_ = std::move(gate); }
  // Told when a group this node leads hears from a node outside its
  // membership (one it removed, which does not know): the application may
  // tell that node to close its replica.
  using StrangerListener = std::function<void(GroupId group, NodeId from)>;
  void SetStrangerListener(StrangerListener listener) { stranger_ = std::move(listener); }

  // INVALID_ARGUMENT if the group exists or `config.id` is not this node.
  // A group added with `quiesce` false never quiesces, whatever the options.
  Status AddGroup(GroupId id, RaftConfig config, PersistedState state, bool quiesce = true);
  // Forgets the group (its topic was deleted); its messages still in a batch
  // are dropped on arrival as any message for an unknown group is.
  void RemoveGroup(GroupId id);
  Raft* group(GroupId id);
  size_t groups() const { return groups_.size(); }
  size_t awake() const { return awake_.size(); }

  void Tick();
  void Receive(const PeerBatch& batch);
  Result<uint64_t> Propose(GroupId id, std::string data);
  // Raft::TransferLeadership on group `id` (NOT_FOUND when absent); wakes it.
  Status TransferLeadership(GroupId id, NodeId target);
  // Raft::ProposeConfChange on group `id` (NOT_FOUND when absent); wakes it.
  Status ProposeConfChange(GroupId id, ConfChangeType type, NodeId node);
  // The membership layer declared `node` dead, or the transport lost it:
  // groups it led wake up and their followers campaign within half an
  // election timeout (Raft::OnLeaderDown).
  void OnNodeDown(NodeId node);

  struct GroupReady {
    GroupId group;
    Ready ready;
  };
  // The Readies of every group that has one; persist them all (one write),
  // then call Advance. Precondition: the previous Advance was called.
  std::vector<GroupReady> GetReadies();
  // Acknowledges the last GetReadies and returns this turn's messages, one
  // batch per peer.
  std::vector<PeerBatch> Advance();

  // Counters for the load figures.
  uint64_t batches_sent() const { return batches_sent_; }
  uint64_t heartbeats_sent() const { return heartbeats_sent_; }

 private:
  struct Group {
    std::unique_ptr<Raft> raft;
    bool readied = false;
    bool quiesce = true;  // may quiesce (with the options' quiesce)
  };
  void Wake(GroupId id);
  bool CanQuiesce(const Raft& r) const;
  PeerBatch& BatchFor(NodeId to);

  NodeId self_;
  MultiRaftOptions options_;
  SnapshotGate snapshot_gate_;
  StrangerListener stranger_;
  std::map<GroupId, Group> groups_;
  std::set<GroupId> awake_;  // the timer structure: groups that tick
  std::set<GroupId> dirty_;  // touched since the last GetReadies: may have a Ready
  std::vector<GroupId> readied_;
  std::map<NodeId, PeerBatch> out_;
  uint64_t batches_sent_ = 0;
  uint64_t heartbeats_sent_ = 0;
};

}  // namespace sprawl::replication
