#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/replication/entry.h"
#include "core/replication/message.h"
#include "core/replication/progress.h"
#include "core/replication/raft_log.h"
#include "core/replication/ready.h"
#include "core/util/result.h"

namespace sprawl::replication {

// Timings (in ticks; the node decides how long a tick is) and limits of one group.
struct RaftConfig {
  NodeId id = kNoNode;
  int election_ticks = 10;   // a follower campaigns after [election, 2*election) quiet ticks
  int heartbeat_ticks = 1;   // a leader heartbeats every this many ticks
  bool pre_vote = true;      // poll before campaigning, so a rejoining node disrupts nobody
  bool check_quorum = true;  // a leader that heard from no majority for a while steps down
  size_t max_inflight = 64;  // unacknowledged appends per follower in replicate state
  size_t max_entries_per_append = 256;
  size_t max_bytes_per_append = 1 << 20;
  uint64_t seed = 1;  // for the randomized election timeouts
  // The group's id, alike on every replica: orders the followers of a dead
  // leader (OnLeaderDown) differently in each group.
  uint64_t group = 0;

  // INVALID_ARGUMENT naming the setting that cannot work.
  Status Validate() const;
};

// What a group restarts from: everything a previous Ready made durable.
struct PersistedState {
  HardState hard_state;
  std::optional<Snapshot> snapshot;
  std::vector<Entry> entries;  // after the snapshot, contiguous
  ConfState initial_conf;      // the membership when there is no snapshot
};

enum class Role : uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };

enum class ConfChangeType : uint8_t { kAddLearner, kPromote, kRemove };

// One Raft group on one node, as a pure state machine (no clock, no I/O, no
// threads): inputs are Tick, Step and the Propose calls; outputs leave through
// GetReady/Advance (ready.h). The rules it keeps are stated in
// docs/replication.md; the simulator in tests/sim checks them.
class Raft {
 public:
  Raft(RaftConfig config, PersistedState state);

  // One tick of the node's clock: election timeouts, heartbeats, check quorum.
  void Tick();
  // A message from a peer of this group.
  void Step(const Message& m);
  // Appends `data` as a new entry when this node leads. Returns its index;
  // the entry is committed when an entry with this index and the current
  // term is in `Ready::committed`. NOT_LEADER otherwise.
  Result<uint64_t> Propose(std::string data);
  // One membership change; RESOURCE_EXHAUSTED while the previous one (or
  // the leader's first entry of its term) is not committed.
  Status ProposeConfChange(ConfChangeType type, NodeId node);
  // The node's transport lost `node` (its process died, most likely): a
  // follower of `node` forgets it as leader, so its lease no longer stands,
  // and campaigns within half an election timeout instead of waiting a whole
  // one. Anything else ignores it. Safe when wrong: an election, no more.
  void OnLeaderDown(NodeId node);
  // Hands leadership to `target` (a voter) once its log is caught up.
  Status TransferLeadership(NodeId target);
  // The application stored an image of its state through `index` (an
  // applied index): entries up to it are dropped, and the image is what a
  // follower behind the log's start receives.
  void Compact(uint64_t index, std::string data);

  bool HasReady() const;
  // Precondition: HasReady().
  Ready GetReady();
  // The caller made the last Ready durable: returns the messages to send.
  std::vector<Message> Advance();

  NodeId id() const { return config_.id; }
  Role role() const { return role_; }
  uint64_t term() const { return term_; }
  NodeId leader() const { return lead_; }
  uint64_t commit() const { return commit_; }
  HardState hard_state() const { return {term_, vote_, commit_}; }
  const RaftLog& log() const { return log_; }
  const ConfState& conf() const { return conf_; }
  const std::map<NodeId, Progress>& progress() const { return progress_; }
  NodeId transferee() const { return transferee_; }
  // The latest image (taken by Compact or installed from the leader), if any.
  const std::optional<Snapshot>& snapshot() const { return snapshot_; }
  bool IsVoter(NodeId id) const;

 private:
  void Send(Message m);
  void BecomeFollower(uint64_t term, NodeId lead);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  void Campaign(bool pre, bool force);
  void StepLeader(const Message& m);
  void StepCandidate(const Message& m);
  void StepFollower(const Message& m);
  void HandleVoteRequest(const Message& m);
  void HandleAppend(const Message& m);
  void HandleHeartbeat(const Message& m);
  void HandleSnapshot(const Message& m);
  void HandleAppendResponse(const Message& m);
  bool SendAppend(NodeId to, bool send_if_empty);
  void SendSnapshot(NodeId to, Progress& pr);
  void BroadcastAppend();
  void BroadcastHeartbeat();
  void SendTimeoutNow(NodeId to);
  bool MaybeCommit();
  bool QuorumActive() const;
  size_t Quorum() const { return conf_.voters.size() / 2 + 1; }
  void ResetTimers();
  void ApplyConf(const ConfState& conf);
  void RecomputeConf();
  ConfState ConfAt(uint64_t index) const;
  void AppendLocal(EntryType type, std::string data);

  RaftConfig config_;
  std::mt19937_64 rng_;
  RaftLog log_;
  ConfState conf_;
  ConfState snapshot_conf_;           // the membership as of log_.snapshot_index()
  std::optional<Snapshot> snapshot_;  // the latest image, sent to followers behind the log

  uint64_t term_ = 0;
  NodeId vote_ = kNoNode;
  uint64_t commit_ = 0;
  Role role_ = Role::kFollower;
  NodeId lead_ = kNoNode;
  std::map<NodeId, bool> votes_;
  std::map<NodeId, Progress> progress_;
  std::vector<uint64_t> match_scratch_;  // reused by MaybeCommit: no allocation per ack
  uint64_t pending_conf_index_ = 0;
  NodeId transferee_ = kNoNode;
  int transfer_elapsed_ = 0;
  // OnLeaderDown: the leader reported dead, whose messages of this term are
  // ignored for a few ticks (its last ones may still be unread).
  NodeId down_leader_ = kNoNode;
  int down_leader_ticks_ = 0;

  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_timeout_ = 0;

  // Ready bookkeeping.
  std::vector<Message> msgs_;    // produced since the last GetReady
  std::vector<Message> held_;    // released by the next Advance
  HardState handed_hard_state_;  // the last hard state handed out
  std::optional<Snapshot> snapshot_to_persist_;
  uint64_t applied_handed_ = 0;       // last index handed out in Ready::committed
  uint64_t ready_persist_index_ = 0;  // last log index the outstanding Ready persists
  bool ready_out_ = false;
};

}  // namespace sprawl::replication
