#include "core/replication/host/raft_host.h"

#include "core/util/logging.h"

namespace sprawl::replication {

NodeId RaftNodeId(std::string_view member_id) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : member_id) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h == kNoNode ? 1 : h;
}

RaftHost::RaftHost(NodeId self, RaftStorage& storage, const Clock& clock, Post post, Send send,
                   RaftHostOptions options)
    : self_(self),
      storage_(storage),
      clock_(clock),
      post_(std::move(post)),
      send_(std::move(send)),
      options_(options),
      multi_(self, MultiRaftOptions{options.quiesce}),
      next_tick_ns_(clock.MonotonicNanos() +
                    std::chrono::duration_cast<std::chrono::nanoseconds>(options.tick).count()) {
  options_.raft.id = self;
  multi_.SetSnapshotGate([this](GroupId group, NodeId from, const Snapshot& snapshot) {
    auto gate = group_gates_.find(group);
    return gate == group_gates_.end() || gate->second(group, from, snapshot);
  });
}

RaftHost::~RaftHost() { *alive_ = false; }

void RaftHost::SetApply(Apply apply, Restore restore) {
  apply_ = std::move(apply);
  restore_ = std::move(restore);
}

void RaftHost::SetGroupApply(GroupId id, Apply apply, Restore restore, SnapshotGate gate) {
  group_apply_[id] = {std::move(apply), std::move(restore)};
  if (gate) {
    group_gates_[id] = std::move(gate);
  } else {
    group_gates_.erase(id);
  }
}

Status RaftHost::CloseGroup(GroupId id) {
  multi_.RemoveGroup(id);
  group_apply_.erase(id);
  group_gates_.erase(id);
  storage_.DropAsync(id);
  return Status::Ok();
}

Status RaftHost::OpenGroup(GroupId id, const ConfState& initial, bool quiesce) {
  SPRAWL_ASSIGN_OR_RETURN(auto stored, storage_.Load(id));
  if (!stored) {
    SPRAWL_RETURN_IF_ERROR(storage_.Create(id, initial));
    stored = PersistedState{};
    stored->initial_conf = initial;
  }
  RaftConfig config = options_.raft;
  config.group = id;
  // Each node and group draws its own election timeouts.
  config.seed = options_.raft.seed ^ (id * 0x9e3779b97f4a7c15ULL) ^
                static_cast<uint64_t>(clock_.MonotonicNanos());
  // The snapshot is restored before the group hands out entries after it.
  auto own = group_apply_.find(id);
  const Restore& restore = own != group_apply_.end() ? own->second.second : restore_;
  if (stored->snapshot && restore) restore(id, *stored->snapshot);
  SPRAWL_RETURN_IF_ERROR(multi_.AddGroup(id, config, std::move(*stored), quiesce));
  // A group whose only voter is this node has no one to wait for: it elects
  // itself now rather than after an election timeout (an embedded node
  // serves topic administration from its first request).
  Raft* r = multi_.group(id);
  if (r->conf().voters == std::vector<NodeId>{self_} && r->conf().learners.empty()) {
    for (int i = 0; i < 2 * config.election_ticks && r->role() != Role::kLeader; ++i) r->Tick();
  }
  Turn();
  return Status::Ok();
}

void RaftHost::Tick() {
  const int64_t tick_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(options_.tick).count();
  const int64_t now = clock_.MonotonicNanos();
  // A loop that fell behind ticks once, not once per missed interval: a
  // burst of ticks would fire elections for a pause the peers never saw.
  next_tick_ns_ = std::max(next_tick_ns_ + tick_ns, now + tick_ns / 2);
  multi_.Tick();
  Turn();
}

void RaftHost::Receive(std::string_view bytes) {
  auto batch = DecodeBatch(bytes);
  if (!batch.ok() || batch->to != self_) {
    ++rejected_;
    log::Debug("raft batch rejected",
               {{"error", batch.ok() ? "addressed to another node" : batch.status().ToString()}});
    return;
  }
  multi_.Receive(*batch);
  Turn();
}

Result<uint64_t> RaftHost::Propose(GroupId id, std::string data) {
  if (!failure_.ok()) return failure_;
  auto index = multi_.Propose(id, std::move(data));
  Turn();
  return index;
}

Status RaftHost::ProposeConfChange(GroupId id, ConfChangeType type, NodeId node) {
  if (!failure_.ok()) return failure_;
  Status s = multi_.ProposeConfChange(id, type, node);
  Turn();
  return s;
}

Status RaftHost::TransferLeadership(GroupId id, NodeId target) {
  if (!failure_.ok()) return failure_;
  Status s = multi_.TransferLeadership(id, target);
  Turn();
  return s;
}

bool RaftHost::HandOver(GroupId id) {
  const Raft* r = multi_.group(id);
  if (r == nullptr || r->role() != Role::kLeader) return false;
  NodeId target = kNoNode;
  uint64_t best = 0;
  for (const auto& [node, progress] : r->progress()) {
    if (node == r->id() || !r->IsVoter(node)) continue;
    if (target == kNoNode || progress.match() > best) {
      target = node;
      best = progress.match();
    }
  }
  return target != kNoNode && TransferLeadership(id, target).ok();
}

void RaftHost::OnNodeDown(NodeId node) {
  multi_.OnNodeDown(node);
  Turn();
}

Status RaftHost::Compact(GroupId id, uint64_t index, std::string image) {
  Raft* r = multi_.group(id);
  if (r == nullptr) return NotFound("raft group " + std::to_string(id) + " is not open here");
  if (index <= r->log().snapshot_index()) return Status::Ok();
  r->Compact(index, std::move(image));
  if (r->log().snapshot_index() != index || !r->snapshot()) {
    return InvalidArgument("raft group " + std::to_string(id) + " cannot compact through " +
                           std::to_string(index) + ": not applied yet");
  }
  storage_.SaveSnapshot(id, *r->snapshot(), [id](const Status& s) {
    // Entries the snapshot covers stay on disk until a later one succeeds;
    // a failing store stops the groups through their next Persist.
    if (!s.ok()) {
      log::Warn("raft snapshot not stored",
                {{"group", std::to_string(id)}, {"error", s.ToString()}});
    }
  });
  return Status::Ok();
}

void RaftHost::Turn() {
  if (writing_ || !failure_.ok()) return;
  std::vector<MultiRaft::GroupReady> readies = multi_.GetReadies();
  if (readies.empty()) {
    SendBatches(multi_.Advance());
    return;
  }
  writing_ = true;
  auto shared = std::make_shared<std::vector<MultiRaft::GroupReady>>(std::move(readies));
  storage_.Persist(*shared, [this, alive = alive_, post = post_, shared](Status s) {
    post([this, alive, shared, s = std::move(s)]() mutable {
      if (*alive) OnPersisted(std::move(s), std::move(*shared));
    });
  });
}

void RaftHost::OnPersisted(Status status, std::vector<MultiRaft::GroupReady> readies) {
  writing_ = false;
  if (!status.ok()) {
    // Nothing that depends on this write may leave: the groups stop here,
    // as the store refuses every later write until it is reopened.
    failure_ = status;
    log::Error("raft state could not be written; this node's groups stop",
               {{"error", status.ToString()}});
    return;
  }
  SendBatches(multi_.Advance());
  for (const MultiRaft::GroupReady& gr : readies) {
    auto own = group_apply_.find(gr.group);
    if (own == group_apply_.end() && multi_.group(gr.group) == nullptr) continue;  // closed
    const Apply& apply = own != group_apply_.end() ? own->second.first : apply_;
    const Restore& restore = own != group_apply_.end() ? own->second.second : restore_;
    if (gr.ready.snapshot && restore) restore(gr.group, *gr.ready.snapshot);
    if (!apply) continue;
    for (const Entry& e : gr.ready.committed) apply(gr.group, e);
  }
  Turn();
}

void RaftHost::SendBatches(std::vector<PeerBatch> batches) {
  for (PeerBatch& b : batches) {
    if (b.heartbeats.empty() && b.acks.empty() && b.messages.empty()) continue;
    send_(b.to, EncodeBatch(b));
  }
}

}  // namespace sprawl::replication
