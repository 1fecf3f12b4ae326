#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/replication/host/raft_storage.h"
#include "core/replication/multi_raft.h"
#include "core/util/clock.h"
#include "core/util/result.h"

namespace sprawl::replication {

// The Raft node id of a cluster member: a 64-bit hash (FNV-1a) of its
// member id, never 0. Every node derives the same number from the same id,
// so Raft ids need no registry of their own.
NodeId RaftNodeId(std::string_view member_id);

struct RaftHostOptions {
  // One Raft tick. With the default 10 election ticks a follower campaigns
  // 1 to 2 s after it last heard from its leader.
  std::chrono::milliseconds tick{100};
  // Timings and limits of every group (the id is the host's).
  RaftConfig raft;
  bool quiesce = true;
};

// A node's Raft groups (MultiRaft) on its event loop: ticks from the loop's
// timer, state made durable through RaftStorage off the loop, and messages
// batched per peer and handed to `send` only once the Ready they depend on
// is durable. Committed entries reach `apply` in order, after they are
// durable. Loop thread only; storage completions come back through `post`.
class RaftHost {
 public:
  using Post = std::function<void(std::function<void()>)>;
  // Carries one encoded PeerBatch to node `to`; it may be lost.
  using Send = std::function<void(NodeId to, std::string bytes)>;
  using Apply = std::function<void(GroupId group, const Entry& entry)>;
  using Restore = std::function<void(GroupId group, const Snapshot& snapshot)>;
  using SnapshotGate = MultiRaft::SnapshotGate;

  // `storage` and `clock` must outlive the host.
  RaftHost(NodeId self, RaftStorage& storage, const Clock& clock, Post post, Send send,
           RaftHostOptions options = {});
  ~RaftHost();
  RaftHost(const RaftHost&) = delete;
  RaftHost& operator=(const RaftHost&) = delete;

  // Where committed entries and installed snapshots go. Before OpenGroup.
  void SetApply(Apply apply, Restore restore);
  // The same for one group, in place of the host-wide callbacks; `gate`
  // (may be empty) decides when a snapshot from a peer installs
  // (MultiRaft::SnapshotGate).
  void SetGroupApply(GroupId id, Apply apply, Restore restore, SnapshotGate gate = {});
  // MultiRaft::SetStrangerListener, for every group.
  void SetStrangerListener(MultiRaft::StrangerListener listener) {
    multi_.SetStrangerListener(std::move(listener));
  }

  // Restarts group `id` from its stored state, or, when it has none, records
  // it with `initial` as its membership (empty for a node that waits to be
  // added by the group's leader) and starts it. Errors of the store.
  // `quiesce` false keeps the group awake while idle (with the options'
  // quiesce on, other groups quiesce).
  Status OpenGroup(GroupId id, const ConfState& initial, bool quiesce = true);
  // Stops group `id` and deletes its stored state (its topic is gone).
  Status CloseGroup(GroupId id);

  void Tick();
  // When Tick must next run, on the clock's monotonic nanoseconds.
  int64_t NextDeadlineNanos() const { return next_tick_ns_; }
  // An encoded PeerBatch from the peer port. A batch that does not decode or
  // is not for this node is dropped and counted.
  void Receive(std::string_view bytes);
  Result<uint64_t> Propose(GroupId id, std::string data);
  Status ProposeConfChange(GroupId id, ConfChangeType type, NodeId node);
  // Hands the leadership of group `id` to `target` once its log is caught up
  // (Raft's TimeoutNow). NOT_LEADER when this node does not lead it.
  Status TransferLeadership(GroupId id, NodeId target);
  // As the leader of group `id`: hands it to the voter whose log is most
  // caught up (a graceful stop). False when this node does not lead it or
  // it has no other voter.
  bool HandOver(GroupId id);
  // The membership declared `node` dead, or its peer connection dropped:
  // groups it led elect again, soon (MultiRaft::OnNodeDown).
  void OnNodeDown(NodeId node);
  // The application's state of group `id` through `index` (applied here) is
  // durable and `image` describes it: the group drops its entries up to
  // `index`, and a follower behind its log gets the image. Stored synced,
  // after every earlier write of the store. OK when the log already starts
  // past `index`; NOT_FOUND for an unknown group; INVALID_ARGUMENT for an index
  // not applied yet.
  Status Compact(GroupId id, uint64_t index, std::string image);

  NodeId self() const { return self_; }
  // The group, or null; for its role, leader, term and membership.
  const Raft* group(GroupId id) { return multi_.group(id); }
  // OK, or the storage error that stopped every group of this node.
  const Status& failure() const { return failure_; }
  uint64_t rejected_batches() const { return rejected_; }

 private:
  // Hands the Readies of every group to storage, or sends at once what
  // needs nothing written. One write in flight at a time.
  void Turn();
  void OnPersisted(Status status, std::vector<MultiRaft::GroupReady> readies);
  void SendBatches(std::vector<PeerBatch> batches);

  const NodeId self_;
  RaftStorage& storage_;
  const Clock& clock_;
  Post post_;
  Send send_;
  RaftHostOptions options_;
  MultiRaft multi_;
  Apply apply_;
  Restore restore_;
  std::map<GroupId, std::pair<Apply, Restore>> group_apply_;
  std::map<GroupId, SnapshotGate> group_gates_;
  int64_t next_tick_ns_;
  bool writing_ = false;
  Status failure_;
  uint64_t rejected_ = 0;
  // Completions posted by the storage writer check it: the host may be gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace sprawl::replication
