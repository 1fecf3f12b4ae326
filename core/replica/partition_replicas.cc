#include "core/replica/partition_replicas.h"

#include <algorithm>
#include <cstdio>

#include "core/replica/control_entry.h"
#include "core/util/byte_io.h"
#include "core/util/logging.h"

namespace sprawl::replica {
namespace {

using broker::PartitionRoute;
using replication::GroupId;

constexpr uint8_t kMarkVersion = 1;

// When a leader proposes to compact its group's log: once this many entries
// or batch bytes are stored by every replica, and otherwise every this many
// ticks (5 s by default) when a batch was applied since. Each compaction is
// one small entry, one synced snapshot write and one range deletion per
// replica, so it stays rare under load; a group with nothing new proposes
// nothing (it may quiesce).
constexpr uint64_t kCompactEntries = 4096;
constexpr uint64_t kCompactBatchBytes = 32u << 20;
constexpr uint64_t kCompactEveryTicks = 50;
// A replica the leader has not heard from for this many ticks (5 s by
// default: down, stopped or cut off) no longer holds its group's compaction
// back; when it returns it copies the records it missed (RecordCatchUp)
// instead of the entries. Short pauses keep the cheaper path, the log.
constexpr uint64_t kSilentReplicaTicks = 50;
// How often a leader notes which replicas answered (and checks the leader
// balance); Raft refreshes its own record of that every election timeout.
constexpr uint64_t kHeardEveryTicks = 5;

}  // namespace

GroupId PartitionGroupId(std::string_view topic_id, uint32_t partition) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a over "<topic id>/<partition>"
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 0x100000001b3ULL;
  };
  for (unsigned char c : topic_id) mix(c);
  mix('/');
  for (int shift = 0; shift < 32; shift += 8) mix(static_cast<unsigned char>(partition >> shift));
  return h <= 1 ? h + 2 : h;
}

std::string AppliedMarkKey(GroupId group) {
  char key[48];
  std::snprintf(key, sizeof key, "replica/%016llx/applied", static_cast<unsigned long long>(group));
  return key;
}

std::string EncodeAppliedMark(uint64_t index, uint64_t end_offset) {
  std::string out;
  ByteWriter w(&out);
  w.U8(kMarkVersion);
  w.U64(index);
  w.U64(end_offset);
  return out;
}

Result<std::pair<uint64_t, uint64_t>> DecodeAppliedMark(std::string_view bytes) {
  ByteReader r(bytes);
  uint8_t version = 0;
  uint64_t index = 0;
  uint64_t end = 0;
  if (!r.U8(&version) || version != kMarkVersion || !r.U64(&index) || !r.U64(&end) ||
      r.remaining() != 0) {
    return DataCorruption("replica applied mark: malformed");
  }
  return std::make_pair(index, end);
}

ReplicaMetrics::ReplicaMetrics(metrics::Registry& registry)
    : log_compactions(registry.GetCounter("sprawl_replica_log_compactions_total",
                                          "Partition groups' Raft logs compacted on this node")),
      catch_ups_done(registry.GetCounter(
          "sprawl_replica_catch_ups_total",
          "Catch-ups of partition replicas that copied the records a leader's image covers",
          {{"outcome", "done"}})),
      catch_ups_failed(registry.GetCounter(
          "sprawl_replica_catch_ups_total",
          "Catch-ups of partition replicas that copied the records a leader's image covers",
          {{"outcome", "stopped"}})),
      catch_up_bytes(registry.GetCounter("sprawl_replica_catch_up_bytes_total",
                                         "Record batch bytes copied by partition catch-ups")),
      catch_ups_running(registry.GetGauge("sprawl_replica_catch_ups_running",
                                          "Partition catch-ups copying records now")) {}

PartitionReplicas::PartitionReplicas(std::string node_id, replication::RaftHost& host,
                                     broker::Broker& broker, storage::Store& store, Post post,
                                     ClusterView view, RecordedTopicId recorded_topic_id,
                                     metrics::Registry& registry)
    : node_id_(std::move(node_id)),
      host_(host),
      broker_(broker),
      store_(store),
      post_(std::move(post)),
      view_(std::move(view)),
      recorded_topic_id_(std::move(recorded_topic_id)),
      metrics_(registry) {
  host_.SetStrangerListener(
      [this](GroupId group, replication::NodeId from) { OnStranger(group, from); });
}

PartitionReplicas::~PartitionReplicas() {
  *alive_ = false;
  catch_ups_.clear();
}

void PartitionReplicas::OnPlacement(const std::string& topic, const Placement* placement) {
  auto it = topics_.find(topic);
  if (it != topics_.end()) {
    if (placement != nullptr && it->second.placement.topic_id == placement->topic_id &&
        it->second.placement.assignment.size() == placement->assignment.size()) {
      UpdateReplicas(it->second, *placement);  // nothing, unless a replica set changed
      return;
    }
    if (placement == nullptr || it->second.placement.topic_id != placement->topic_id) {
      CloseTopic(it->second);
      topics_.erase(it);
      it = topics_.end();
    }
  }
  if (placement == nullptr || placement->assignment.empty()) return;
  TopicParts& t = topics_[topic];
  const size_t known = t.parts.size();
  t.placement = *placement;
  for (size_t p = known; p < placement->assignment.size(); ++p) {
    Part part;
    part.topic = topic;
    part.partition = static_cast<uint32_t>(p);
    part.group = PartitionGroupId(placement->topic_id, part.partition);
    part.replicas = placement->assignment[p];
    part.raft = placement->replication_factor > 1 && part.replicas.size() > 1;
    part.moves = p < placement->moves.size() ? placement->moves[p] : 0;
    part.mine =
        std::find(part.replicas.begin(), part.replicas.end(), node_id_) != part.replicas.end();
    t.parts.push_back(std::move(part));
  }
}

Status PartitionReplicas::Open(const std::string& topic) {
  auto it = topics_.find(topic);
  if (it == topics_.end()) return Status::Ok();
  for (Part& part : it->second.parts) {
    if (!part.raft || part.open || dropping_.count(part.group) > 0) continue;
    if (!part.mine) {
      // Not a replica by the metadata. Raft state stored here is a replica
      // removed while this node was down: its group opens, so that its
      // leader, hearing from it, tells it so (OnRemoved), and then it drops
      // everything. Records without Raft state are what a replica closed
      // before left: dropped now.
      SPRAWL_ASSIGN_OR_RETURN(
          auto boot, store_.ScanRecords(replication::RaftGroupPrefix(part.group) + "boot"));
      if (boot.empty()) {
        if (HoldsRecords(part)) DropRecords(part);
        continue;
      }
      log::Info(
          "partition group of a replica removed while this node was down opens until its leader "
          "confirms the removal",
          {{"topic", part.topic}, {"partition", part.partition}});
    }
    // Where this replica's state machine stands: its applied mark.
    SPRAWL_ASSIGN_OR_RETURN(auto marks, store_.ScanRecords(AppliedMarkKey(part.group)));
    uint64_t index = 0;
    uint64_t end = 0;
    if (!marks.empty()) {
      SPRAWL_ASSIGN_OR_RETURN(auto mark, DecodeAppliedMark(marks.front().second));
      std::tie(index, end) = mark;
    }
    SPRAWL_RETURN_IF_ERROR(broker_.MarkReplicated(part.topic, part.partition, end));
    part.applied_index = index;
    part.applied_end = end;
    part.ends.assign(1, {index, end});
    part.last_batch_index = index;  // the stored log may hold batches up to the mark
    // A group formed with its first replica set; a replica added later
    // starts with no membership and waits for the leader to add it.
    replication::ConfState voters;
    if (part.moves == 0) {
      for (const std::string& id : part.replicas) {
        voters.voters.push_back(replication::RaftNodeId(id));
      }
    }
    std::sort(voters.voters.begin(), voters.voters.end());
    by_group_[part.group] = {part.topic, part.partition};
    host_.SetGroupApply(
        part.group, [this](GroupId group, const replication::Entry& entry) { Apply(group, entry); },
        [this](GroupId group, const replication::Snapshot& snapshot) { Restore(group, snapshot); },
        [this](GroupId group, replication::NodeId from, const replication::Snapshot& snapshot) {
          return AcceptSnapshot(group, from, snapshot);
        });
    SPRAWL_RETURN_IF_ERROR(host_.OpenGroup(part.group, voters));
    part.open = true;
    part.group_state = host_.group(part.group);
    log::Info("partition replica open", {{"topic", part.topic},
                                         {"partition", part.partition},
                                         {"applied_index", std::to_string(index)}});
  }
  return Status::Ok();
}

void PartitionReplicas::CloseTopic(TopicParts& topic) {
  for (Part& part : topic.parts) {
    if (part.open) CloseGroupHere(part, NotFound("topic '" + part.topic + "' was deleted"));
  }
}

bool PartitionReplicas::HoldsRecords(const Part& part) const {
  auto local = broker_.topics().Find(part.topic);
  if (!local.ok() || part.partition >= (*local)->partitions.size()) return false;
  const storage::PartitionLog& log = *(*local)->partitions[part.partition];
  return log.NextOffset() > 0;
}

void PartitionReplicas::DropRecords(Part& part) {
  if (!dropping_.insert(part.group).second) return;
  const GroupId group = part.group;
  using RecordWrite = storage::Store::RecordWrite;
  store_.WriteRecordsAsync({RecordWrite{RecordWrite::Kind::kDelete, AppliedMarkKey(group), ""}},
                           /*sync=*/false, [](const Status&) {});
  const std::string topic = part.topic;
  const uint32_t partition = part.partition;
  broker_.DropPartitionRecords(
      topic, partition, [this, alive = alive_, group, topic, partition](const Status& dropped) {
        if (!*alive) return;
        dropping_.erase(group);
        if (!dropped.ok()) {
          log::Warn("records of a partition this node no longer replicates not dropped",
                    {{"topic", topic}, {"partition", partition}, {"error", dropped.ToString()}});
          return;
        }
        log::Info("records of a partition this node no longer replicates dropped",
                  {{"topic", topic}, {"partition", partition}});
        // Placed here again meanwhile: its group opens now, on an empty log.
        const Part* part = FindPart(topic, partition);
        if (part != nullptr && part->group == group && part->mine && !part->open) {
          Status opened = Open(topic);
          if (!opened.ok()) {
            log::Warn("partition replicas not opened",
                      {{"topic", topic}, {"error", opened.ToString()}});
          }
        }
      });
}

void PartitionReplicas::CloseGroupHere(Part& part, const Status& why) {
  broker_.FailReplicatedProposals(part.topic, part.partition, why);
  Status closed = host_.CloseGroup(part.group);
  if (!closed.ok()) {
    log::Warn("partition group not closed", {{"topic", part.topic}, {"error", closed.ToString()}});
  }
  using RecordWrite = storage::Store::RecordWrite;
  store_.WriteRecordsAsync(
      {RecordWrite{RecordWrite::Kind::kDelete, AppliedMarkKey(part.group), ""}},
      /*sync=*/false, [](const Status&) {});
  by_group_.erase(part.group);
  catch_ups_.erase(part.group);
  metrics_.catch_ups_running.Set(static_cast<int64_t>(catch_ups_.size()));
  part.open = false;
  part.group_state = nullptr;
  part.led = false;
}

PartitionReplicas::Part* PartitionReplicas::PartOfGroup(GroupId group) {
  auto where = by_group_.find(group);
  if (where == by_group_.end()) return nullptr;
  auto t = topics_.find(where->second.first);
  if (t == topics_.end() || where->second.second >= t->second.parts.size()) return nullptr;
  return &t->second.parts[where->second.second];
}

void PartitionReplicas::Apply(GroupId group, const replication::Entry& entry) {
  Part* found = PartOfGroup(group);
  if (found == nullptr) return;
  Part& part = *found;
  if (part.failed) return;
  if (entry.index <= part.applied_index) return;  // applied before a restart
  bool batch = entry.type == replication::EntryType::kNormal && !entry.data.empty();
  if (batch && IsControlEntry(entry.data)) {
    // The replicas' own entry: it takes no offset. Every replica decodes the
    // same bytes, so a malformed one is skipped everywhere alike.
    batch = false;
    auto control = DecodeControlEntry(entry.data);
    if (!control.ok()) {
      log::Warn("partition control entry skipped",
                {{"topic", part.topic}, {"error", control.status().ToString()}});
    } else if (control->kind == ControlKind::kCompact) {
      part.compact_to = std::max(part.compact_to, control->index);
    } else if (control->kind == ControlKind::kGroupCheckpoint) {
      broker_.ApplyGroupCheckpoint(part.topic, control->payload);
    }
  }
  auto applied = broker_.ApplyReplicated(part.topic, part.partition, entry.index, entry.term,
                                         batch ? std::string_view(entry.data) : std::string_view());
  if (!applied.ok()) {
    log::Error("committed entry not applied; the replica stops",
               {{"topic", part.topic},
                {"partition", part.partition},
                {"index", std::to_string(entry.index)},
                {"error", applied.status().ToString()}});
    return;
  }
  part.applied_index = entry.index;
  part.applied_term = entry.term;
  if (*applied != part.applied_end) part.ends.emplace_back(entry.index, *applied);
  part.applied_end = *applied;
  if (batch) {
    part.batch_bytes += entry.data.size();
    part.last_batch_index = entry.index;
  }
  part.mark_dirty = true;
  ScheduleMarks();
}

void PartitionReplicas::Restore(GroupId group, const replication::Snapshot& snapshot) {
  Part* part = PartOfGroup(group);
  if (part == nullptr) return;
  auto image = DecodePartitionImage(snapshot.data);
  if (!image.ok() || image->index != snapshot.index) {
    part->failed = true;
    log::Error("partition snapshot does not decode; the replica stops",
               {{"topic", part->topic},
                {"partition", part->partition},
                {"error", image.ok() ? "index mismatch" : image.status().ToString()}});
    return;
  }
  if (snapshot.index > part->compacted) {
    part->compacted = snapshot.index;
    part->compacted_end = image->end_offset;
  }
  if (snapshot.index <= part->applied_index) return;  // this replica's own, taken before a restart
  // A leader's image: this replica missed entries the leader's log dropped.
  // It follows on only when those entries added no record it lacks.
  if (image->end_offset > part->applied_end) {
    part->failed = true;
    log::Error(
        "partition replica lacks records its leader's Raft log no longer holds; the replica stops "
        "applying (it lost stored entries, e.g. to a power loss under an fsync interval)",
        {{"topic", part->topic},
         {"partition", part->partition},
         {"applied_end", std::to_string(part->applied_end)},
         {"image_end", std::to_string(image->end_offset)}});
    return;
  }
  if (image->end_offset < part->applied_end) {
    // The log holds records past the image, copied for an earlier leader's
    // newer image (AcceptSnapshot): committed records, which the entries
    // after this image bring again at the same offsets. The pipeline's
    // position moves back to the image's end, so it matches them instead
    // of storing them twice, and its producer state is rebuilt up to there.
    Status marked = broker_.MarkReplicated(part->topic, part->partition, image->end_offset);
    if (!marked.ok()) {
      part->failed = true;
      log::Error("partition replica could not move back to its leader's image; the replica stops",
                 {{"topic", part->topic},
                  {"partition", part->partition},
                  {"image_end", std::to_string(image->end_offset)},
                  {"error", marked.ToString()}});
      return;
    }
    log::Info("partition replica installs an image that covers less than its log holds",
              {{"topic", part->topic},
               {"partition", part->partition},
               {"applied_end", std::to_string(part->applied_end)},
               {"image_end", std::to_string(image->end_offset)}});
    part->applied_end = image->end_offset;
  }
  part->applied_index = snapshot.index;
  part->ends.assign(1, {snapshot.index, image->end_offset});
  part->mark_dirty = true;
  ScheduleMarks();
}

void PartitionReplicas::MaybeProposeCompaction(Part& part, const replication::Raft& raft) {
  ++part.ticks_since_compact;
  // Only a log holding a batch past the last compaction is worth one: the
  // compact entry itself, no-ops and checkpoints alone would start a cycle.
  if (raft.role() != replication::Role::kLeader || part.last_batch_index <= part.compacted) return;
  // Every replica (voter or learner) has stored the log through `floor`, so
  // none will need an entry below it from any future leader. This node's
  // own share is what it applied (the core tracks no progress for itself).
  uint64_t floor = std::min(raft.commit(), part.applied_index);
  for (const auto& [id, progress] : raft.progress()) {
    if (id == raft.id()) continue;
    auto heard = part.heard.find(id);
    const bool silent = heard != part.heard.end() && ticks_ - heard->second > kSilentReplicaTicks;
    if (!silent) floor = std::min(floor, progress.match());
  }
  if (floor <= std::max(part.compacted, part.proposed_compact)) return;
  const bool due = floor - part.compacted >= kCompactEntries ||
                   part.batch_bytes >= kCompactBatchBytes ||
                   part.ticks_since_compact >= kCompactEveryTicks;
  if (!due) return;
  auto proposed = host_.Propose(part.group, EncodeControlEntry({ControlKind::kCompact, floor, {}}));
  if (!proposed.ok()) return;  // leadership moved: the next leader decides
  part.proposed_compact = floor;
  part.ticks_since_compact = 0;
}

void PartitionReplicas::CompactLog(Part& part) {
  const uint64_t target = std::min(part.compact_to, part.applied_index);
  if (target <= part.compacted || part.ends.empty() || part.ends.front().first > target) return;
  // The last batch applied at or before `target`: the log end there.
  auto after =
      std::upper_bound(part.ends.begin(), part.ends.end(), target,
                       [](uint64_t index, const auto& point) { return index < point.first; });
  const uint64_t end = std::prev(after)->second;
  Status compacted = host_.Compact(part.group, target, EncodePartitionImage({target, end}));
  if (!compacted.ok()) {
    log::Warn(
        "partition raft log not compacted",
        {{"topic", part.topic}, {"partition", part.partition}, {"error", compacted.ToString()}});
    return;
  }
  part.ends.erase(part.ends.begin(), std::prev(after));  // keeps the point still in force
  part.compacted = target;
  part.compacted_end = end;
  metrics_.log_compactions.Increment();
  part.batch_bytes = 0;
  part.ticks_since_compact = 0;
}

void PartitionReplicas::ScheduleMarks() {
  if (marks_scheduled_) return;
  marks_scheduled_ = true;
  // After the turn's entries are applied: one write carries every mark,
  // queued behind the appends it covers.
  post_([this, alive = alive_] {
    if (*alive) WriteMarks();
  });
}

void PartitionReplicas::WriteMarks() {
  marks_scheduled_ = false;
  using RecordWrite = storage::Store::RecordWrite;
  std::vector<RecordWrite> writes;
  for (auto& [name, t] : topics_) {
    for (Part& part : t.parts) {
      if (!part.mark_dirty) continue;
      part.mark_dirty = false;
      writes.push_back({RecordWrite::Kind::kPut, AppliedMarkKey(part.group),
                        EncodeAppliedMark(part.applied_index, part.applied_end)});
    }
  }
  if (!writes.empty()) {
    store_.WriteRecordsAsync(std::move(writes), /*sync=*/false, [](const Status& s) {
      if (!s.ok()) log::Warn("applied marks not written", {{"error", s.ToString()}});
    });
  }
  // Behind the marks (and the appends they cover), each compaction's synced
  // write makes the state it describes durable with it.
  for (auto& [name, t] : topics_) {
    for (Part& part : t.parts) {
      if (part.open && !part.failed && part.compact_to > part.compacted) CompactLog(part);
    }
  }
}

void PartitionReplicas::Tick() {
  ++ticks_;
  for (auto& [name, t] : topics_) {
    for (Part& part : t.parts) {
      if (!part.open) continue;
      // Held since the group opened: a map lookup per group per tick was
      // most of an idle node's work.
      const replication::Raft* r = part.group_state;
      if (r == nullptr) continue;
      const bool leads = r->role() == replication::Role::kLeader;
      if (part.led && (!leads || r->term() != part.led_term)) {
        // Entries proposed here may never commit: their publishers retry.
        uint64_t term = 0;
        broker_.FailReplicatedProposals(
            part.topic, part.partition,
            NotLeader("leadership of partition " + std::to_string(part.partition) + " of topic '" +
                          part.topic + "' moved before the batch committed",
                      LeaderOf(part, &term)));
      }
      if (leads && (!part.led || r->term() != part.led_term)) {
        log::Info("partition leader here", {{"topic", part.topic},
                                            {"partition", std::to_string(part.partition)},
                                            {"term", std::to_string(r->term())}});
        part.heard.clear();  // every replica counts as heard when leadership starts
      }
      if (leads) {
        ReconcileMembers(part, *r);
        SendFarewells(part);
        // Every few ticks: who answered only matters over seconds, and an
        // idle node leads thousands of groups.
        if (ticks_ % kHeardEveryTicks == 0) {
          NoteHeard(part, *r);
          BalanceLeadership(part, *r);
        }
      }
      part.led = leads;
      part.led_term = r->term();
      if (!part.failed) MaybeProposeCompaction(part, *r);
    }
  }
}

size_t PartitionReplicas::TransferLeadership() {
  size_t handed = 0;
  for (auto& [name, t] : topics_) {
    for (Part& part : t.parts) {
      if (!part.open) continue;
      if (host_.HandOver(part.group)) ++handed;
    }
  }
  return handed;
}

size_t PartitionReplicas::Led() const {
  size_t led = 0;
  for (const auto& [name, t] : topics_) {
    for (const Part& part : t.parts) {
      if (!part.open) continue;
      const replication::Raft* r = host_.group(part.group);
      if (r != nullptr && r->role() == replication::Role::kLeader) ++led;
    }
  }
  return led;
}

Result<pb::TransferLeaderResponse> PartitionReplicas::TransferLeader(
    const pb::TransferLeaderRequest& request) {
  const std::string name =
      "partition " + std::to_string(request.partition()) + " of topic '" + request.topic() + "'";
  auto local = broker_.topics().Find(request.topic());
  if (!local.ok()) return NotFound("topic '" + request.topic() + "' does not exist");
  if (request.partition() >= (*local)->partitions.size()) {
    return NotFound("topic '" + request.topic() + "' has " +
                    std::to_string((*local)->partitions.size()) + " partitions; there is no " +
                    name);
  }
  const Part* part = FindPart(request.topic(), request.partition());
  if (part == nullptr || !part->raft) {
    return InvalidArgument(name +
                           " has one replica (replication factor 1): no other node can lead it");
  }
  if (std::find(part->replicas.begin(), part->replicas.end(), request.node()) ==
      part->replicas.end()) {
    std::string replicas;
    for (const std::string& id : part->replicas) replicas += (replicas.empty() ? "" : ", ") + id;
    return InvalidArgument("node '" + request.node() + "' holds no replica of " + name +
                           " (its replicas: " + replicas + ")");
  }
  if (!part->mine) {
    return NotLeader("this node holds no replica of " + name, AnyReplicaAddress(*part));
  }
  const replication::Raft* r = part->open ? host_.group(part->group) : nullptr;
  uint64_t term = 0;
  if (r == nullptr || r->role() != replication::Role::kLeader) {
    return NotLeader("this node does not lead " + name, LeaderOf(*part, &term));
  }
  pb::TransferLeaderResponse out;
  out.set_node(request.node());
  out.set_term(r->term());
  if (request.node() == node_id_) {
    out.set_already(true);
    return out;
  }
  SPRAWL_RETURN_IF_ERROR(
      host_.TransferLeadership(part->group, replication::RaftNodeId(request.node())));
  log::Info("leadership transfer started", {{"topic", request.topic()},
                                            {"partition", std::to_string(request.partition())},
                                            {"to", request.node()},
                                            {"term", std::to_string(out.term())}});
  return out;
}

const PartitionReplicas::Part* PartitionReplicas::FindPart(std::string_view topic,
                                                           uint32_t partition) const {
  auto it = topics_.find(topic);
  if (it == topics_.end() || partition >= it->second.parts.size()) return nullptr;
  return &it->second.parts[partition];
}

std::string PartitionReplicas::LeaderOf(const Part& part, uint64_t* term) const {
  *term = 0;
  if (!part.raft) return view_.client_address(part.replicas.front());
  if (!part.open) return "";
  const replication::Raft* r = host_.group(part.group);
  if (r == nullptr || r->leader() == replication::kNoNode) return "";
  *term = r->term();
  const std::string id = view_.member_id(r->leader());
  return id.empty() ? "" : view_.client_address(id);
}

std::string PartitionReplicas::AnyReplicaAddress(const Part& part) const {
  for (const std::string& id : part.replicas) {
    std::string address = view_.client_address(id);
    if (!address.empty()) return address;
  }
  return "";
}

broker::PartitionRoute PartitionReplicas::Route(std::string_view topic, uint32_t partition) const {
  const Part* part = FindPart(topic, partition);
  if (part == nullptr) {
    if (topics_.count(topic) == 0 && recorded_topic_id_ && recorded_topic_id_(topic)) {
      // Placed by the metadata, which has not replayed here yet.
      return {PartitionRoute::Kind::kFollower, ""};
    }
    return {PartitionRoute::Kind::kLocal, ""};
  }
  if (!part->mine) return {PartitionRoute::Kind::kElsewhere, AnyReplicaAddress(*part)};
  if (!part->raft) return {PartitionRoute::Kind::kLocal, ""};
  if (!part->open) return {PartitionRoute::Kind::kFollower, ""};
  const replication::Raft* r = host_.group(part->group);
  if (r != nullptr && r->role() == replication::Role::kLeader) {
    PartitionRoute route{PartitionRoute::Kind::kLeader, ""};
    route.term = r->term();
    route.settled = part->applied_term == r->term();
    return route;
  }
  uint64_t term = 0;
  return {PartitionRoute::Kind::kFollower, LeaderOf(*part, &term)};
}

Result<broker::ProposalId> PartitionReplicas::Propose(std::string_view topic, uint32_t partition,
                                                      std::string batch) {
  const Part* part = FindPart(topic, partition);
  if (part == nullptr || !part->open) {
    return NotLeader("partition " + std::to_string(partition) + " of topic '" + std::string(topic) +
                         "' is not served here yet",
                     "");
  }
  const replication::Raft* r = host_.group(part->group);
  const uint64_t term = r != nullptr ? r->term() : 0;
  auto index = host_.Propose(part->group, std::move(batch));
  if (!index.ok()) {
    if (index.status().code() != ErrorCode::kNotLeader) return index.status();
    uint64_t leader_term = 0;
    return NotLeader("this node does not lead partition " + std::to_string(partition) +
                         " of topic '" + std::string(topic) + "'",
                     LeaderOf(*part, &leader_term));
  }
  return broker::ProposalId{*index, term};
}

Status PartitionReplicas::ProposeGroupCheckpoint(std::string_view topic, uint32_t partition,
                                                 std::string entry) {
  const Part* part = FindPart(topic, partition);
  if (part == nullptr || !part->open) {
    return NotLeader("partition " + std::to_string(partition) + " of topic '" + std::string(topic) +
                         "' is not served here",
                     "");
  }
  ControlEntry control;
  control.kind = ControlKind::kGroupCheckpoint;
  control.payload = std::move(entry);
  return host_.Propose(part->group, EncodeControlEntry(control)).status();
}

pb::MetadataResponse PartitionReplicas::Metadata(const pb::MetadataRequest& request) const {
  pb::MetadataResponse out;
  std::vector<std::string> names(request.topics().begin(), request.topics().end());
  if (names.empty()) {
    const pb::ListTopicsResponse listed = broker_.ListTopics();  // outlives the loop
    for (const auto& d : listed.topics()) names.push_back(d.name());
  }
  for (const std::string& name : names) {
    auto local = broker_.topics().Find(name);
    if (!local.ok()) continue;
    pb::TopicMetadata* tm = out.add_topics();
    tm->set_name(name);
    auto placed = topics_.find(name);
    if (placed != topics_.end()) tm->set_topic_id(placed->second.placement.topic_id);
    const uint32_t partitions = static_cast<uint32_t>((*local)->partitions.size());
    for (uint32_t p = 0; p < partitions; ++p) {
      pb::PartitionMetadata* pm = tm->add_partitions();
      pm->set_partition(p);
      const Part* part = FindPart(name, p);
      if (part == nullptr) {
        // Not placed: every node serves its own copy.
        pm->set_leader_id(node_id_);
        pm->set_leader_address(view_.client_address(node_id_));
        continue;
      }
      for (const std::string& id : part->replicas) {
        pm->add_replica_ids(id);
        pm->add_replica_addresses(view_.client_address(id));
      }
      uint64_t term = 0;
      const std::string leader = LeaderOf(*part, &term);
      pm->set_leader_address(leader);
      pm->set_term(term);
      if (!part->raft) {
        pm->set_leader_id(part->replicas.front());
      } else if (part->open) {
        const replication::Raft* r = host_.group(part->group);
        if (r != nullptr && r->leader() != replication::kNoNode) {
          pm->set_leader_id(view_.member_id(r->leader()));
        }
      }
    }
  }
  return out;
}

void PartitionReplicas::Decorate(pb::TopicDescription* description) const {
  for (pb::PartitionStatus& status : *description->mutable_partitions()) {
    const Part* part = FindPart(description->name(), status.partition());
    if (part == nullptr) continue;
    for (const std::string& id : part->replicas) status.add_replicas(id);
    uint64_t term = 0;
    status.set_leader(LeaderOf(*part, &term));
    status.set_term(term);
    const replication::Raft* r = part->open ? host_.group(part->group) : nullptr;
    if (r == nullptr) continue;
    status.set_raft_commit(r->commit());
    status.set_raft_log_start(r->log().first_index());
    status.set_raft_log_end(r->log().last_index());
    if (r->role() != replication::Role::kLeader) continue;
    for (const auto& [id, progress] : r->progress()) {
      if (id == r->id()) continue;
      pb::ReplicaProgress* f = status.add_followers();
      f->set_member_id(view_.member_id(id));
      f->set_match_index(progress.match());
      f->set_lag(r->log().last_index() - std::min(progress.match(), r->log().last_index()));
      f->set_learner(!r->IsVoter(id));
    }
  }
}

}  // namespace sprawl::replica
