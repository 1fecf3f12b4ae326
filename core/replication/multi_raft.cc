#include "core/replication/multi_raft.h"

#include <algorithm>
#include <utility>

#include "core/replication/codec.h"
#include "core/util/byte_io.h"

namespace sprawl::replication {

// ---- the batch codec ------------------------------------------------------------

std::string EncodeBatch(const PeerBatch& b) {
  std::string out;
  ByteWriter w(&out);
  w.U8(kRaftCodecVersion);
  w.VarU64(b.from);
  w.VarU64(b.to);
  w.VarU64(b.heartbeats.size());
  for (const HeartbeatItem& h : b.heartbeats) {
    w.VarU64(h.group);
    w.VarU64(h.term);
    w.VarU64(h.commit);
    w.U8(h.quiesce ? 1 : 0);
  }
  w.VarU64(b.acks.size());
  for (const HeartbeatAck& a : b.acks) {
    w.VarU64(a.group);
    w.VarU64(a.term);
  }
  w.VarU64(b.messages.size());
  std::string body;
  for (const GroupMessage& m : b.messages) {
    w.VarU64(m.group);
    body.clear();
    EncodeMessage(m.message, &body);
    w.VarU64(body.size());
    w.Bytes(body);
  }
  return out;
}

Result<PeerBatch> DecodeBatch(std::string_view bytes) {
  auto bad = [](const char* what) { return InvalidArgument(std::string("raft batch: ") + what); };
  ByteReader r(bytes);
  uint8_t version = 0;
  if (!r.U8(&version)) return bad("empty");
  if (version != kRaftCodecVersion) {
    return UnsupportedVersion("raft batch: version " + std::to_string(version));
  }
  PeerBatch b;
  uint64_t n = 0;
  if (!r.VarU64(&b.from) || !r.VarU64(&b.to) || b.from == kNoNode || b.to == kNoNode) {
    return bad("bad header");
  }
  // Every item takes at least 2 bytes: never reserve what the input cannot hold.
  if (!r.VarU64(&n) || n > kMaxGroupsPerBatch || n > r.remaining() / 2) return bad("bad count");
  b.heartbeats.resize(n);
  for (HeartbeatItem& h : b.heartbeats) {
    uint8_t q = 0;
    if (!r.VarU64(&h.group) || !r.VarU64(&h.term) || !r.VarU64(&h.commit) || !r.U8(&q) || q > 1) {
      return bad("bad heartbeat");
    }
    h.quiesce = q == 1;
  }
  if (!r.VarU64(&n) || n > kMaxGroupsPerBatch || n > r.remaining() / 2) return bad("bad count");
  b.acks.resize(n);
  for (HeartbeatAck& a : b.acks) {
    if (!r.VarU64(&a.group) || !r.VarU64(&a.term)) return bad("bad ack");
  }
  if (!r.VarU64(&n) || n > kMaxGroupsPerBatch || n > r.remaining() / 2) return bad("bad count");
  b.messages.resize(n);
  for (GroupMessage& m : b.messages) {
    uint64_t len = 0;
    std::string_view body;
    if (!r.VarU64(&m.group) || !r.VarU64(&len) || !r.Bytes(len, &body)) return bad("bad message");
    auto decoded = DecodeMessage(body);
    if (!decoded.ok()) return decoded.status().WithContext("raft batch");
    if (decoded->from != b.from || decoded->to != b.to) return bad("message of another node pair");
    m.message = std::move(*decoded);
  }
  if (r.remaining() != 0) return bad("trailing bytes");
  return b;
}

// ---- the host -------------------------------------------------------------------

namespace {

bool IsMember(const ConfState& conf, NodeId node) {
  return std::find(conf.voters.begin(), conf.voters.end(), node) != conf.voters.end() ||
         std::find(conf.learners.begin(), conf.learners.end(), node) != conf.learners.end();
}

}  // namespace

MultiRaft::MultiRaft(NodeId self, MultiRaftOptions options) : self_(self), options_(options) {}

void MultiRaft::RemoveGroup(GroupId id) {
  groups_.erase(id);
  awake_.erase(id);
  dirty_.erase(id);
}

Status MultiRaft::AddGroup(GroupId id, RaftConfig config, PersistedState state, bool quiesce) {
  if (config.id != self_)
    return InvalidArgument("multi-raft: the group's node id is not this node");
  SPRAWL_RETURN_IF_ERROR(config.Validate());
  auto [it, inserted] = groups_.try_emplace(id);
  if (!inserted) return InvalidArgument("multi-raft: group " + std::to_string(id) + " exists");
  it->second.raft = std::make_unique<Raft>(config, std::move(state));
  it->second.quiesce = quiesce;
  Wake(id);
  return Status::Ok();
}

Raft* MultiRaft::group(GroupId id) {
  auto it = groups_.find(id);
  return it == groups_.end() ? nullptr : it->second.raft.get();
}

void MultiRaft::Wake(GroupId id) {
  awake_.insert(id);
  dirty_.insert(id);
}

bool MultiRaft::CanQuiesce(const Raft& r) const {
  if (r.role() != Role::kLeader || r.transferee() != kNoNode) return false;
  const uint64_t last = r.log().last_index();
  if (r.commit() != last || r.log().persisted_index() != last) return false;
  for (const auto& [id, pr] : r.progress()) {
    if (id != self_ && (pr.match() != last || pr.state() != Progress::State::kReplicate)) {
      return false;
    }
  }
  return true;
}

PeerBatch& MultiRaft::BatchFor(NodeId to) {
  PeerBatch& b = out_[to];
  b.from = self_;
  b.to = to;
  return b;
}

void MultiRaft::Tick() {
  // Copied: quiescing removes groups from the set while it is walked.
  const std::vector<GroupId> awake(awake_.begin(), awake_.end());
  for (GroupId id : awake) {
    Group& g = groups_.at(id);
    Raft& r = *g.raft;
    if (options_.quiesce && g.quiesce && !g.readied && !r.HasReady() && CanQuiesce(r)) {
      for (const auto& [peer, pr] : r.progress()) {
        if (peer == self_) continue;
        BatchFor(peer).heartbeats.push_back({id, r.term(), r.commit(), true});
      }
      awake_.erase(id);
      continue;
    }
    r.Tick();
    dirty_.insert(id);
  }
}

void MultiRaft::Receive(const PeerBatch& b) {
  if (b.to != self_) return;
  Message m;
  m.from = b.from;
  m.to = self_;
  for (const HeartbeatItem& h : b.heartbeats) {
    auto found = groups_.find(h.group);
    if (found == groups_.end()) continue;
    Raft* r = found->second.raft.get();
    m.type = MessageType::kHeartbeat;
    m.term = h.term;
    m.commit = h.commit;
    r->Step(m);
    dirty_.insert(h.group);
    const bool idle = options_.quiesce && found->second.quiesce && h.quiesce &&
                      r->role() == Role::kFollower && r->leader() == b.from &&
                      r->term() == h.term && r->commit() == r->log().last_index();
    if (idle) {
      awake_.erase(h.group);
    } else {
      Wake(h.group);
    }
  }
  m.commit = 0;
  for (const HeartbeatAck& a : b.acks) {
    // An answer to a quiescing heartbeat must not wake the leader again.
    if (Raft* r = group(a.group)) {
      m.type = MessageType::kHeartbeatResponse;
      m.term = a.term;
      r->Step(m);
      dirty_.insert(a.group);
    }
  }
  for (const GroupMessage& gm : b.messages) {
    if (Raft* r = group(gm.group)) {
      Wake(gm.group);
      const Message& msg = gm.message;
      if (stranger_ && r->role() == Role::kLeader && !IsMember(r->conf(), b.from)) {
        stranger_(gm.group, b.from);
      }
      if (msg.type == MessageType::kSnapshot && msg.snapshot && snapshot_gate_ &&
          !snapshot_gate_(gm.group, b.from, *msg.snapshot)) {
        continue;
      }
      r->Step(msg);
    }
  }
}

Result<uint64_t> MultiRaft::Propose(GroupId id, std::string data) {
  Raft* r = group(id);
  if (!r) return NotFound("multi-raft: no group " + std::to_string(id));
  Wake(id);
  return r->Propose(std::move(data));
}

Status MultiRaft::TransferLeadership(GroupId id, NodeId target) {
  Raft* r = group(id);
  if (!r) return NotFound("multi-raft: no group " + std::to_string(id));
  Wake(id);
  return r->TransferLeadership(target);
}

Status MultiRaft::ProposeConfChange(GroupId id, ConfChangeType type, NodeId node) {
  Raft* r = group(id);
  if (!r) return NotFound("multi-raft: no group " + std::to_string(id));
  Wake(id);
  return r->ProposeConfChange(type, node);
}

void MultiRaft::OnNodeDown(NodeId node) {
  for (auto& [id, g] : groups_) {
    if (g.raft->leader() != node) continue;
    g.raft->OnLeaderDown(node);
    Wake(id);
  }
}

std::vector<MultiRaft::GroupReady> MultiRaft::GetReadies() {
  std::vector<GroupReady> out;
  for (GroupId id : dirty_) {
    Group& g = groups_.at(id);
    if (g.readied || !g.raft->HasReady()) continue;
    out.push_back({id, g.raft->GetReady()});
    g.readied = true;
    readied_.push_back(id);
  }
  dirty_.clear();
  return out;
}

std::vector<PeerBatch> MultiRaft::Advance() {
  for (GroupId id : readied_) {
    auto found = groups_.find(id);
    if (found == groups_.end()) continue;  // removed while its Ready was written
    Group& g = found->second;
    g.readied = false;
    dirty_.insert(id);  // an acknowledged write can commit, and so need another Ready
    for (Message& m : g.raft->Advance()) {
      PeerBatch& b = BatchFor(m.to);
      if (m.type == MessageType::kHeartbeat) {
        b.heartbeats.push_back({id, m.term, m.commit, false});
      } else if (m.type == MessageType::kHeartbeatResponse) {
        b.acks.push_back({id, m.term});
      } else {
        b.messages.push_back({id, std::move(m)});
      }
    }
  }
  readied_.clear();
  std::vector<PeerBatch> batches;
  batches.reserve(out_.size());
  for (auto& [to, b] : out_) {
    heartbeats_sent_ += b.heartbeats.size();
    batches.push_back(std::move(b));
  }
  batches_sent_ += batches.size();
  out_.clear();
  return batches;
}

}  // namespace sprawl::replication
