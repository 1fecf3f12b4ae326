// PartitionReplicas: a replica whose leader's image covers records it lacks
// copies them before the image installs (docs/replication.md, "Catching up
// from records").
#include <chrono>

#include "core/replica/control_entry.h"
#include "core/replica/partition_replicas.h"
#include "core/storage/record_batch.h"
#include "core/util/logging.h"

namespace sprawl::replica {
namespace {

using replication::GroupId;
using replication::NodeId;

// Catch-ups running at once on one node: each holds a connection and copies
// one partition at the speed of the source's reads; others wait for a slot
// (their leaders keep sending the image, and a free slot takes the next).
constexpr size_t kMaxCatchUps = 4;

}  // namespace

bool PartitionReplicas::AcceptSnapshot(GroupId group, NodeId from,
                                       const replication::Snapshot& snapshot) {
  Part* part = PartOfGroup(group);
  if (part == nullptr || part->failed) return true;
  auto image = DecodePartitionImage(snapshot.data);
  // A malformed image, or one this replica has applied, is Restore's to judge.
  if (!image.ok() || snapshot.index <= part->applied_index) return true;
  if (image->end_offset <= part->applied_end) {
    // This replica holds every record the image covers. It may hold more:
    // records copied for an earlier leader's image that went further than
    // this leader's (it had compacted less). Refusing would be for ever:
    // this leader's compaction waits for this replica, which answers its
    // heartbeats, so its image would never grow. The entries after the
    // image bring the records past its end again, and the log matches
    // them (Restore). Unless retention restarted the log past the image's
    // end: its offsets could no longer be matched, so the image waits
    // for a newer one.
    auto local = broker_.topics().Find(part->topic);
    if (local.ok() && part->partition < (*local)->partitions.size() &&
        image->end_offset < (*local)->partitions[part->partition]->FirstOffset()) {
      return false;
    }
    catch_ups_.erase(group);
    metrics_.catch_ups_running.Set(static_cast<int64_t>(catch_ups_.size()));
    return true;
  }
  StartCatchUp(*part, from, image->end_offset);
  return false;
}

void PartitionReplicas::StartCatchUp(Part& part, NodeId from, uint64_t to) {
  auto running = catch_ups_.find(part.group);
  if (running != catch_ups_.end()) {
    running->second->ExtendTo(to);
    return;
  }
  if (catch_ups_.size() >= kMaxCatchUps) return;
  const std::string source = view_.client_address(view_.member_id(from));
  if (source.empty()) return;  // not a live member as far as gossip knows yet
  const GroupId group = part.group;
  auto catch_up = RecordCatchUp::Create(
      part.topic, part.partition, source, part.applied_end, to, post_,
      [this, group](std::string_view batch) { return ApplyCopiedBatch(group, batch); },
      [this, group](uint64_t start) { return RestartCopiedLog(group, start); },
      [this, group](const Status& status) { OnCatchUpDone(group, status); });
  if (!catch_up.ok()) {
    log::Warn("partition catch-up not started",
              {{"topic", part.topic}, {"source", source}, {"error", catch_up.status().ToString()}});
    return;
  }
  log::Info("partition replica copies the records its leader's image covers",
            {{"topic", part.topic},
             {"partition", part.partition},
             {"source", source},
             {"from", std::to_string(part.applied_end)},
             {"to", std::to_string(to)}});
  RecordCatchUp* started = catch_up->get();
  catch_ups_[group] = std::move(*catch_up);
  metrics_.catch_ups_running.Set(static_cast<int64_t>(catch_ups_.size()));
  started->Start();
}

Result<uint64_t> PartitionReplicas::ApplyCopiedBatch(GroupId group, std::string_view batch) {
  Part* part = PartOfGroup(group);
  if (part == nullptr) return NotFound("the partition's group is closed");
  SPRAWL_ASSIGN_OR_RETURN(auto view, storage::RecordBatchView::Parse(batch));
  // The log may have moved on by entries of the group's own log meanwhile:
  // then this copy no longer continues it, and the next image starts anew.
  if (view.base_offset() != part->applied_end) {
    return Internal("the replica's log moved to " + std::to_string(part->applied_end) +
                    " during the catch-up");
  }
  // Applied as a committed entry would be (index 0: no proposal waits on
  // it), so idempotence state follows the records. The applied mark keeps
  // its index and end until the image installs: a restart meanwhile
  // re-applies from the mark and matches the copied batches.
  SPRAWL_ASSIGN_OR_RETURN(
      uint64_t end, broker_.ApplyReplicated(part->topic, part->partition, 0, view.term(), batch));
  part->applied_end = end;
  return end;
}

Result<uint64_t> PartitionReplicas::RestartCopiedLog(GroupId group, uint64_t start) {
  Part* part = PartOfGroup(group);
  if (part == nullptr) return NotFound("the partition's group is closed");
  log::Warn(
      "partition replica restarts its log at its source's first retained record (retention "
      "removed the records between)",
      {{"topic", part->topic},
       {"partition", part->partition},
       {"applied_end", std::to_string(part->applied_end)},
       {"start", std::to_string(start)}});
  SPRAWL_ASSIGN_OR_RETURN(uint64_t end,
                          broker_.RestartReplicatedAt(part->topic, part->partition, start));
  part->applied_end = end;
  return end;
}

void PartitionReplicas::OnCatchUpDone(GroupId group, const Status& status) {
  auto found = catch_ups_.find(group);
  if (found == catch_ups_.end()) return;
  const RecordCatchUp& catch_up = *found->second;
  Part* part = PartOfGroup(group);
  const std::string topic = part != nullptr ? part->topic : "";
  metrics_.catch_up_bytes.Increment(catch_up.bytes_copied());
  (status.ok() ? metrics_.catch_ups_done : metrics_.catch_ups_failed).Increment();
  if (status.ok()) {
    log::Info("partition catch-up done; the image installs when its leader sends it next",
              {{"topic", topic},
               {"partition", part != nullptr ? std::to_string(part->partition) : ""},
               {"source", catch_up.source()},
               {"end", std::to_string(catch_up.next())},
               {"bytes", std::to_string(catch_up.bytes_copied())}});
  } else {
    log::Warn("partition catch-up stopped; the next image from the leader starts it again",
              {{"topic", topic},
               {"partition", part != nullptr ? std::to_string(part->partition) : ""},
               {"source", catch_up.source()},
               {"at", std::to_string(catch_up.next())},
               {"error", status.ToString()}});
  }
  catch_ups_.erase(found);
  metrics_.catch_ups_running.Set(static_cast<int64_t>(catch_ups_.size()));
}

void PartitionReplicas::NoteHeard(Part& part, const replication::Raft& raft) {
  for (const auto& [id, progress] : raft.progress()) {
    if (id == raft.id()) continue;
    auto [heard, added] = part.heard.emplace(id, ticks_);
    if (progress.recent_active()) heard->second = ticks_;
  }
}

}  // namespace sprawl::replica
