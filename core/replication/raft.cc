#include "core/replication/raft.h"

#include <algorithm>
#include <cassert>
#include <functional>
#include <utility>

#include "core/replication/codec.h"

namespace sprawl::replication {
namespace {

// SplitMix64's finalizer: a well-spread 64-bit hash of a 64-bit value.
uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

bool Contains(const std::vector<NodeId>& ids, NodeId id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

void Insert(std::vector<NodeId>& ids, NodeId id) {
  ids.insert(std::lower_bound(ids.begin(), ids.end(), id), id);
}

void Erase(std::vector<NodeId>& ids, NodeId id) {
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
}

}  // namespace

Status RaftConfig::Validate() const {
  if (id == kNoNode) return InvalidArgument("raft: id must not be 0");
  if (heartbeat_ticks < 1) return InvalidArgument("raft: heartbeat_ticks must be at least 1");
  if (election_ticks <= heartbeat_ticks) {
    return InvalidArgument("raft: election_ticks must exceed heartbeat_ticks");
  }
  if (max_inflight < 1) return InvalidArgument("raft: max_inflight must be at least 1");
  if (max_entries_per_append < 1) {
    return InvalidArgument("raft: max_entries_per_append must be at least 1");
  }
  return Status::Ok();
}

Raft::Raft(RaftConfig config, PersistedState state)
    : config_(config), rng_(config.seed ^ (config.id * 0x9e3779b97f4a7c15ULL)) {
  assert(config_.Validate().ok());
  uint64_t snap_index = 0;
  uint64_t snap_term = 0;
  snapshot_conf_ = state.initial_conf;
  if (state.snapshot) {
    snap_index = state.snapshot->index;
    snap_term = state.snapshot->term;
    snapshot_conf_ = state.snapshot->conf;
    snapshot_ = std::move(state.snapshot);
  }
  log_ = RaftLog(snap_index, snap_term, std::move(state.entries));
  term_ = state.hard_state.term;
  vote_ = state.hard_state.vote;
  commit_ = std::clamp(state.hard_state.commit, snap_index, log_.last_index());
  handed_hard_state_ = state.hard_state;
  applied_handed_ = snap_index;
  RecomputeConf();
  BecomeFollower(term_, kNoNode);
}

bool Raft::IsVoter(NodeId id) const { return Contains(conf_.voters, id); }

// ---- timers -----------------------------------------------------------------

void Raft::ResetTimers() {
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  randomized_timeout_ = config_.election_ticks +
                        static_cast<int>(rng_() % static_cast<uint64_t>(config_.election_ticks));
}

void Raft::Tick() {
  ++election_elapsed_;
  if (down_leader_ticks_ > 0 && --down_leader_ticks_ == 0) down_leader_ = kNoNode;
  if (role_ != Role::kLeader) {
    if (election_elapsed_ >= randomized_timeout_ && IsVoter(config_.id)) {
      election_elapsed_ = 0;
      Campaign(config_.pre_vote, false);
    }
    return;
  }
  if (transferee_ != kNoNode && ++transfer_elapsed_ >= config_.election_ticks) {
    transferee_ = kNoNode;  // the target did not take over in time
  }
  if (election_elapsed_ >= config_.election_ticks) {
    election_elapsed_ = 0;
    if (config_.check_quorum) {
      if (!QuorumActive()) {
        BecomeFollower(term_, kNoNode);
        return;
      }
      for (auto& [id, pr] : progress_) pr.set_recent_active(id == config_.id);
    }
  }
  if (++heartbeat_elapsed_ >= config_.heartbeat_ticks) {
    heartbeat_elapsed_ = 0;
    BroadcastHeartbeat();
  }
}

void Raft::OnLeaderDown(NodeId node) {
  if (role_ != Role::kFollower || lead_ != node || node == kNoNode) return;
  lead_ = kNoNode;
  // What the dead leader sent before it died may be read after this report
  // (it comes on another socket): taken as news from a live leader, it
  // would restore the lease and refuse the survivors' votes for a whole
  // election timeout. Its messages of this term are ignored for two ticks;
  // were the report wrong, its heartbeats count again after them.
  down_leader_ = node;
  down_leader_ticks_ = 2;
  // The voters that lost the same leader agree on an order without a word:
  // each ranks the others by a hash of the group and their ids. The first
  // campaigns on the next tick and each next one a slot later, all within
  // half an election timeout. Two campaigning in the same tick would split
  // the vote and cost a whole election timeout more (a random wait did that
  // for one failover in five); a first one whose log is behind loses to the
  // next, and one that is down too is skipped by the next. The group in the
  // hash spreads a dead node's groups over the survivors.
  auto rank_key = [this](NodeId id) { return Mix64(config_.group ^ Mix64(id)); };
  const uint64_t mine = rank_key(config_.id);
  int rank = 0;
  int survivors = 0;
  for (NodeId id : conf_.voters) {
    if (id == node) continue;
    ++survivors;
    const uint64_t key = rank_key(id);
    if (key < mine || (key == mine && id < config_.id)) ++rank;
  }
  const int spread = std::max(1, config_.election_ticks / 2);
  const int slot = std::max(1, spread / std::max(1, survivors));
  const int wait = std::min(spread, 1 + rank * slot);
  election_elapsed_ = std::max(election_elapsed_, randomized_timeout_ - wait);
}

// ---- role changes -------------------------------------------------------------

void Raft::BecomeFollower(uint64_t term, NodeId lead) {
  if (term != term_) {
    term_ = term;
    vote_ = kNoNode;
  }
  role_ = Role::kFollower;
  lead_ = lead;
  transferee_ = kNoNode;
  ResetTimers();
}

void Raft::BecomePreCandidate() {
  // A pre-candidate changes neither term nor vote: losing the poll leaves no trace.
  role_ = Role::kPreCandidate;
  lead_ = kNoNode;
  votes_.clear();
}

void Raft::BecomeCandidate() {
  ++term_;
  vote_ = config_.id;
  role_ = Role::kCandidate;
  lead_ = kNoNode;
  votes_.clear();
  ResetTimers();
}

void Raft::BecomeLeader() {
  role_ = Role::kLeader;
  lead_ = config_.id;
  transferee_ = kNoNode;
  ResetTimers();
  progress_.clear();
  auto track = [&](NodeId id) {
    auto [it, inserted] = progress_.try_emplace(id, log_.last_index() + 1, config_.max_inflight);
    it->second.set_recent_active(true);
  };
  for (NodeId id : conf_.voters) track(id);
  for (NodeId id : conf_.learners) track(id);
  // Entries of earlier terms commit only under an entry of this term.
  AppendLocal(EntryType::kNoop, {});
  pending_conf_index_ = log_.last_index();
  BroadcastAppend();
}

void Raft::Campaign(bool pre, bool force) {
  if (pre) {
    BecomePreCandidate();
  } else {
    BecomeCandidate();
  }
  const uint64_t term = pre ? term_ + 1 : term_;
  votes_[config_.id] = true;
  if (votes_.size() >= Quorum()) {  // a group of one
    if (pre) {
      Campaign(false, force);
    } else {
      BecomeLeader();
    }
    return;
  }
  for (NodeId id : conf_.voters) {
    if (id == config_.id) continue;
    Message m;
    m.type = pre ? MessageType::kPreVote : MessageType::kVote;
    m.to = id;
    m.term = term;
    m.index = log_.last_index();
    m.log_term = log_.last_term();
    m.force = force;
    Send(std::move(m));
  }
}

// ---- messages in --------------------------------------------------------------

void Raft::Send(Message m) {
  m.from = config_.id;
  // Votes carry the term they are about; everything else the sender's term.
  if (m.type != MessageType::kPreVote && m.type != MessageType::kPreVoteResponse &&
      m.type != MessageType::kVoteResponse) {
    m.term = term_;
  }
  msgs_.push_back(std::move(m));
}

void Raft::Step(const Message& m) {
  if (m.from == down_leader_ && m.term <= term_) return;  // OnLeaderDown
  if (m.term > term_) {
    const bool vote_request = m.type == MessageType::kPreVote || m.type == MessageType::kVote;
    if (vote_request && config_.check_quorum && !m.force && lead_ != kNoNode &&
        election_elapsed_ < config_.election_ticks) {
      return;  // a leader was heard from recently: its lease stands
    }
    if (m.type == MessageType::kPreVote) {
      // A poll never changes the term.
    } else if (m.type == MessageType::kPreVoteResponse && !m.reject) {
      // The poll's answer carries the term polled for.
    } else {
      const bool from_leader = m.type == MessageType::kAppend ||
                               m.type == MessageType::kHeartbeat ||
                               m.type == MessageType::kSnapshot;
      BecomeFollower(m.term, from_leader ? m.from : kNoNode);
    }
  } else if (m.term < term_) {
    if ((config_.check_quorum || config_.pre_vote) &&
        (m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat)) {
      // A stale leader cut off by pre-vote would never learn the new term
      // otherwise: tell it, so it steps down.
      Message r;
      r.type = MessageType::kAppendResponse;
      r.to = m.from;
      Send(std::move(r));
    } else if (m.type == MessageType::kPreVote) {
      Message r;
      r.type = MessageType::kPreVoteResponse;
      r.to = m.from;
      r.term = term_;
      r.reject = true;
      Send(std::move(r));
    }
    return;
  }

  if (m.type == MessageType::kPreVote || m.type == MessageType::kVote) {
    HandleVoteRequest(m);
    return;
  }
  switch (role_) {
    case Role::kLeader:
      StepLeader(m);
      break;
    case Role::kPreCandidate:
    case Role::kCandidate:
      StepCandidate(m);
      break;
    case Role::kFollower:
      StepFollower(m);
      break;
  }
}

void Raft::HandleVoteRequest(const Message& m) {
  const bool pre = m.type == MessageType::kPreVote;
  const bool can_vote =
      vote_ == m.from || (vote_ == kNoNode && lead_ == kNoNode) || (pre && m.term > term_);
  Message r;
  r.type = pre ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
  r.to = m.from;
  if (can_vote && log_.IsUpToDate(m.index, m.log_term)) {
    r.term = m.term;
    if (!pre) {
      election_elapsed_ = 0;
      vote_ = m.from;
    }
  } else {
    r.term = term_;
    r.reject = true;
  }
  Send(std::move(r));
}

void Raft::StepCandidate(const Message& m) {
  switch (m.type) {
    case MessageType::kAppend:
      BecomeFollower(m.term, m.from);
      HandleAppend(m);
      break;
    case MessageType::kHeartbeat:
      BecomeFollower(m.term, m.from);
      HandleHeartbeat(m);
      break;
    case MessageType::kSnapshot:
      BecomeFollower(m.term, m.from);
      HandleSnapshot(m);
      break;
    case MessageType::kPreVoteResponse:
    case MessageType::kVoteResponse: {
      const bool pre = role_ == Role::kPreCandidate;
      if ((m.type == MessageType::kPreVoteResponse) != pre) break;  // from another round
      if (!IsVoter(m.from)) break;
      votes_.try_emplace(m.from, !m.reject);
      size_t granted = 0;
      size_t rejected = 0;
      for (const auto& [id, yes] : votes_) (yes ? granted : rejected) += 1;
      if (granted >= Quorum()) {
        if (pre) {
          Campaign(false, false);
        } else {
          BecomeLeader();
        }
      } else if (rejected >= Quorum()) {
        BecomeFollower(term_, kNoNode);
      }
      break;
    }
    default:
      break;
  }
}

void Raft::StepFollower(const Message& m) {
  switch (m.type) {
    case MessageType::kAppend:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleAppend(m);
      break;
    case MessageType::kHeartbeat:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleHeartbeat(m);
      break;
    case MessageType::kSnapshot:
      election_elapsed_ = 0;
      lead_ = m.from;
      HandleSnapshot(m);
      break;
    case MessageType::kTimeoutNow:
      if (IsVoter(config_.id)) Campaign(false, true);
      break;
    default:
      break;
  }
}

void Raft::HandleAppend(const Message& m) {
  Message r;
  r.type = MessageType::kAppendResponse;
  r.to = m.from;
  if (m.index < commit_) {
    r.index = commit_;  // already committed here: tell the leader how far we are
    Send(std::move(r));
    return;
  }
  if (log_.MatchTerm(m.index, m.log_term)) {
    const uint64_t last_new = m.entries.empty() ? m.index : m.entries.back().index;
    bool conf_touched = false;
    for (const Entry& e : m.entries) conf_touched |= e.type == EntryType::kConfChange;
    const uint64_t last_before = log_.last_index();
    const std::optional<uint64_t> term_at_end = log_.Term(last_before);
    log_.AppendMatching(m.entries);
    // A truncation may have dropped a membership change.
    if (conf_touched || log_.last_index() < last_before || log_.Term(last_before) != term_at_end) {
      RecomputeConf();
    }
    commit_ = std::max(commit_, std::min(m.commit, last_new));
    r.index = last_new;
    Send(std::move(r));
    return;
  }
  // Fast backtracking: name the last index that may match, and its term, so
  // the leader skips whole terms instead of one entry per round trip.
  const uint64_t hint = log_.FindConflictByTerm(std::min(m.index, log_.last_index()), m.log_term);
  r.reject = true;
  r.index = m.index;
  r.reject_hint = hint;
  r.log_term = log_.Term(hint).value_or(0);
  Send(std::move(r));
}

void Raft::HandleHeartbeat(const Message& m) {
  commit_ = std::max(commit_, std::min(m.commit, log_.last_index()));
  Message r;
  r.type = MessageType::kHeartbeatResponse;
  r.to = m.from;
  Send(std::move(r));
}

void Raft::HandleSnapshot(const Message& m) {
  Message r;
  r.type = MessageType::kAppendResponse;
  r.to = m.from;
  if (!m.snapshot) return;
  const Snapshot& s = *m.snapshot;
  if (s.index <= commit_) {
    r.index = commit_;
  } else if (log_.MatchTerm(s.index, s.term)) {
    commit_ = s.index;  // the log already holds it: just move the commit forward
    r.index = s.index;
  } else {
    log_.Restore(s.index, s.term);
    commit_ = s.index;
    applied_handed_ = s.index;
    snapshot_ = s;
    snapshot_to_persist_ = s;
    snapshot_conf_ = s.conf;
    RecomputeConf();
    r.index = s.index;
  }
  Send(std::move(r));
}

void Raft::StepLeader(const Message& m) {
  auto it = progress_.find(m.from);
  switch (m.type) {
    case MessageType::kAppendResponse:
      if (it != progress_.end()) HandleAppendResponse(m);
      break;
    case MessageType::kHeartbeatResponse:
      if (it == progress_.end()) break;
      it->second.set_recent_active(true);
      if (it->second.state() == Progress::State::kSnapshot) {
        // The snapshot may have been lost: probe from it, a lost one is resent.
        it->second.BecomeProbe();
      }
      it->second.OnHeartbeatResponse();
      // Even an empty append: if earlier ones were lost, its rejection
      // sends the leader back to probing.
      if (it->second.match() < log_.last_index()) SendAppend(m.from, true);
      break;
    default:
      break;
  }
}

void Raft::HandleAppendResponse(const Message& m) {
  Progress& pr = progress_.at(m.from);
  pr.set_recent_active(true);
  if (m.reject) {
    uint64_t next_probe = m.reject_hint;
    if (m.log_term > 0) next_probe = log_.FindConflictByTerm(m.reject_hint, m.log_term);
    if (pr.MaybeDecrTo(m.index, next_probe)) {
      if (pr.state() == Progress::State::kReplicate) pr.BecomeProbe();
      SendAppend(m.from, true);
    }
    return;
  }
  const bool was_paused = pr.Paused();
  if (!pr.MaybeUpdate(m.index)) {
    if (was_paused && !pr.Paused()) SendAppend(m.from, false);
    return;
  }
  if (pr.state() == Progress::State::kProbe) {
    pr.BecomeReplicate();
  } else if (pr.state() == Progress::State::kSnapshot && pr.match() >= pr.pending_snapshot()) {
    pr.BecomeProbe();
  }
  if (MaybeCommit()) {
    BroadcastAppend();
  } else {
    while (SendAppend(m.from, false)) {
    }
  }
  if (m.from == transferee_ && pr.match() == log_.last_index()) SendTimeoutNow(m.from);
}

// ---- messages out -------------------------------------------------------------

bool Raft::SendAppend(NodeId to, bool send_if_empty) {
  if (to == config_.id) return false;
  Progress& pr = progress_.at(to);
  if (pr.Paused()) return false;
  const uint64_t prev = pr.next() - 1;
  const std::optional<uint64_t> prev_term = log_.Term(prev);
  if (!prev_term) {
    SendSnapshot(to, pr);
    return false;
  }
  Message m;
  m.type = MessageType::kAppend;
  m.to = to;
  m.index = prev;
  m.log_term = *prev_term;
  m.commit = commit_;
  log_.Slice(pr.next(), log_.last_index() + 1, config_.max_entries_per_append,
             config_.max_bytes_per_append, &m.entries);
  if (m.entries.empty() && !send_if_empty) return false;
  if (!m.entries.empty()) {
    pr.SentEntries(m.entries.back().index);
  } else if (pr.state() == Progress::State::kProbe) {
    pr.SentProbe();
  }
  Send(std::move(m));
  return true;
}

void Raft::SendSnapshot(NodeId to, Progress& pr) {
  if (!snapshot_) return;  // cannot happen: a compacted log always has its image
  Message m;
  m.type = MessageType::kSnapshot;
  m.to = to;
  m.snapshot = snapshot_;
  pr.BecomeSnapshot(snapshot_->index);
  Send(std::move(m));
}

void Raft::BroadcastAppend() {
  for (auto& [id, pr] : progress_) {
    if (id != config_.id) SendAppend(id, true);
  }
}

void Raft::BroadcastHeartbeat() {
  for (auto& [id, pr] : progress_) {
    if (id == config_.id) continue;
    Message m;
    m.type = MessageType::kHeartbeat;
    m.to = id;
    m.commit = std::min(pr.match(), commit_);
    Send(std::move(m));
  }
}

void Raft::SendTimeoutNow(NodeId to) {
  Message m;
  m.type = MessageType::kTimeoutNow;
  m.to = to;
  Send(std::move(m));
}

bool Raft::MaybeCommit() {
  match_scratch_.clear();
  for (NodeId id : conf_.voters) {
    if (id == config_.id) {
      match_scratch_.push_back(log_.persisted_index());
    } else if (auto it = progress_.find(id); it != progress_.end()) {
      match_scratch_.push_back(it->second.match());
    } else {
      match_scratch_.push_back(0);
    }
  }
  if (match_scratch_.empty()) return false;
  std::sort(match_scratch_.begin(), match_scratch_.end(), std::greater<>());
  const uint64_t majority = match_scratch_[Quorum() - 1];
  if (majority <= commit_) return false;
#ifdef SPRAWL_RAFT_PLANTED_BUG_COMMIT_EARLIER_TERM
  // A deliberate bug for testing the simulator's checker (tests/sim): commits
  // an entry of an earlier term by counting its replicas (Raft paper, fig. 8).
  commit_ = majority;
  return true;
#else
  // Only an entry of this term commits by counting replicas; earlier ones
  // commit under it (Raft paper, section 5.4.2).
  if (log_.Term(majority) != term_) return false;
  commit_ = majority;
  return true;
#endif
}

bool Raft::QuorumActive() const {
  size_t active = 0;
  for (NodeId id : conf_.voters) {
    if (id == config_.id) {
      ++active;
    } else if (auto it = progress_.find(id); it != progress_.end() && it->second.recent_active()) {
      ++active;
    }
  }
  return active >= Quorum();
}

// ---- proposals ----------------------------------------------------------------

void Raft::AppendLocal(EntryType type, std::string data) {
  Entry e;
  e.term = term_;
  e.index = log_.last_index() + 1;
  e.type = type;
  e.data = std::move(data);
  log_.Append(std::move(e));
}

Result<uint64_t> Raft::Propose(std::string data) {
  if (role_ != Role::kLeader) {
    return Status(ErrorCode::kNotLeader,
                  "raft: not the leader; leader is node " + std::to_string(lead_));
  }
  if (transferee_ != kNoNode) {
    return Status(ErrorCode::kNotLeader,
                  "raft: leadership is moving to node " + std::to_string(transferee_));
  }
  AppendLocal(EntryType::kNormal, std::move(data));
  const uint64_t index = log_.last_index();
  BroadcastAppend();
  return index;
}

Status Raft::ProposeConfChange(ConfChangeType type, NodeId node) {
  if (role_ != Role::kLeader) {
    return Status(ErrorCode::kNotLeader,
                  "raft: not the leader; leader is node " + std::to_string(lead_));
  }
  if (pending_conf_index_ > commit_) {
    return ResourceExhausted("raft: a membership change is still being committed");
  }
  if (node == kNoNode) return InvalidArgument("raft: node id must not be 0");
  ConfState next = conf_;
  const bool voter = Contains(next.voters, node);
  const bool learner = Contains(next.learners, node);
  switch (type) {
    case ConfChangeType::kAddLearner:
      if (voter || learner) return AlreadyExists("raft: node is already a member");
      Insert(next.learners, node);
      break;
    case ConfChangeType::kPromote:
      if (!learner) return InvalidArgument("raft: only a learner can be promoted");
      Erase(next.learners, node);
      Insert(next.voters, node);
      break;
    case ConfChangeType::kRemove:
      if (!voter && !learner) return NotFound("raft: node is not a member");
      if (node == config_.id) {
        return InvalidArgument("raft: the leader cannot remove itself; transfer leadership first");
      }
      Erase(next.voters, node);
      Erase(next.learners, node);
      break;
  }
  AppendLocal(EntryType::kConfChange, EncodeConfState(next));
  pending_conf_index_ = log_.last_index();
  // Single-server changes take effect when appended (Raft thesis, 4.1).
  ApplyConf(next);
  BroadcastAppend();
  return Status::Ok();
}

Status Raft::TransferLeadership(NodeId target) {
  if (role_ != Role::kLeader) return Status(ErrorCode::kNotLeader, "raft: not the leader");
  if (target == config_.id) return Status::Ok();
  if (!IsVoter(target)) return InvalidArgument("raft: the target is not a voter");
  transferee_ = target;
  transfer_elapsed_ = 0;
  if (progress_.at(target).match() == log_.last_index()) {
    SendTimeoutNow(target);
  } else {
    SendAppend(target, true);
  }
  return Status::Ok();
}

// ---- membership ---------------------------------------------------------------

ConfState Raft::ConfAt(uint64_t index) const {
  ConfState conf = snapshot_conf_;
  for (uint64_t i = log_.first_index(); i <= std::min(index, log_.last_index()); ++i) {
    const Entry& e = log_.At(i);
    if (e.type != EntryType::kConfChange) continue;
    auto decoded = DecodeConfState(e.data);
    if (decoded.ok()) conf = std::move(*decoded);
  }
  return conf;
}

void Raft::RecomputeConf() { ApplyConf(ConfAt(log_.last_index())); }

void Raft::ApplyConf(const ConfState& conf) {
  conf_ = conf;
  if (role_ != Role::kLeader) return;
  for (auto it = progress_.begin(); it != progress_.end();) {
    const bool member = IsVoter(it->first) || Contains(conf_.learners, it->first);
    it = member ? std::next(it) : progress_.erase(it);
  }
  auto track = [&](NodeId id) {
    progress_.try_emplace(id, log_.last_index() + 1, config_.max_inflight);
  };
  for (NodeId id : conf_.voters) track(id);
  for (NodeId id : conf_.learners) track(id);
  MaybeCommit();
}

// ---- snapshots ----------------------------------------------------------------

void Raft::Compact(uint64_t index, std::string data) {
  if (index <= log_.snapshot_index() || index > applied_handed_ || index > log_.last_index()) {
    return;
  }
  Snapshot s;
  s.index = index;
  s.term = *log_.Term(index);
  s.conf = ConfAt(index);
  s.data = std::move(data);
  snapshot_conf_ = s.conf;
  log_.Compact(index);
  snapshot_ = std::move(s);
}

// ---- Ready --------------------------------------------------------------------

bool Raft::HasReady() const {
  if (ready_out_) return false;
  return !msgs_.empty() || log_.HasUnpersisted() || snapshot_to_persist_ ||
         hard_state() != handed_hard_state_ ||
         std::min(commit_, log_.last_index()) > applied_handed_;
}

Ready Raft::GetReady() {
  Ready rd;
  const HardState hs = hard_state();
  if (hs != handed_hard_state_) {
    rd.hard_state = hs;
    handed_hard_state_ = hs;
  }
  if (snapshot_to_persist_) {
    rd.snapshot = std::move(snapshot_to_persist_);
    snapshot_to_persist_.reset();
  }
  log_.TakeUnpersisted(&rd.entries);
  ready_persist_index_ = log_.last_index();
  const uint64_t apply_to = std::min(commit_, log_.last_index());
  for (uint64_t i = std::max(applied_handed_ + 1, log_.first_index()); i <= apply_to; ++i) {
    rd.committed.push_back(log_.At(i));
  }
  applied_handed_ = std::max(applied_handed_, apply_to);
  held_.swap(msgs_);
  msgs_.clear();
  ready_out_ = true;
  return rd;
}

std::vector<Message> Raft::Advance() {
  ready_out_ = false;
  log_.MarkPersisted(ready_persist_index_);
  if (role_ == Role::kLeader && MaybeCommit()) BroadcastAppend();
  return std::exchange(held_, {});
}

}  // namespace sprawl::replication
