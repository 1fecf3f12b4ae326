#include "core/broker/publish_pipeline.h"

#include "core/storage/producer_identity.h"

#include <algorithm>

#include "core/storage/record_batch.h"
#include "core/util/logging.h"

namespace sprawl::broker {
namespace {

namespace pb = protocol::pb;

// Producer state is rebuilt from at most this many records at each
// partition's tail; a producer silent for longer may restart its sequence.
constexpr uint64_t kProducerRebuildRecords = 100'000;

pb::Error ToError(const Status& status) {
  pb::Error e;
  e.set_code(static_cast<uint32_t>(status.code()));
  e.set_message(status.message());
  e.set_retriable(status.retriable());
  if (!status.leader_hint().empty()) e.set_leader_hint(status.leader_hint());
  return e;
}

// MESSAGE_TOO_LARGE when a record's key, value and headers exceed `limit`.
Status CheckRecordSizes(const storage::RecordBatchView& view, uint32_t limit) {
  // A batch whose stored records fit the limit cannot hold a larger record.
  if (view.compression() == storage::Compression::kNone && view.bytes().size() <= limit) {
    return Status::Ok();
  }
  SPRAWL_ASSIGN_OR_RETURN(auto records, view.Records());
  storage::RecordView record;
  uint32_t index = 0;
  while (records.Next(&record)) {
    const uint64_t size =
        record.key.value_or("").size() + record.value.size() + record.headers_encoded.size();
    if (size > limit) {
      return Status(
          ErrorCode::kMessageTooLarge,
          "record " + std::to_string(index) + " of the batch has " + std::to_string(size) +
              " bytes of key, value and headers; the topic allows " + std::to_string(limit));
    }
    ++index;
  }
  return records.status();
}

}  // namespace

struct PublishPipeline::PublishCall {
  pb::PublishResponse response;
  size_t remaining = 0;
  bool ack_none = false;
  bool ack_all = false;
  int64_t start_nanos = 0;
  std::function<void(Result<pb::PublishResponse>)> done;
};

// One append from its proposal to its outcome.
struct PublishPipeline::Ticket {
  uint64_t bytes = 0;
  bool proposed = false;  // the log took it; its outcome goes to the proposal's waiters
  uint64_t end_offset = 0;
  AppendDone done;  // while not proposed: whoever waits for the outcome
};

PublishPipeline::PublishPipeline(storage::Store& store, const Clock& clock, BrokerMetrics& metrics,
                                 Post post, const BrokerOptions& options, CommitListener on_commit)
    : clock_(clock),
      metrics_(metrics),
      post_(std::move(post)),
      options_(options),
      on_commit_(std::move(on_commit)),
      sync_waiter_(store),
      sync_on_all_(store.options().mode == storage::StorageMode::kDisk &&
                   store.options().fsync.kind != storage::FsyncPolicy::Kind::kAlways) {}

Status PublishPipeline::AddPartition(const std::string& topic, uint32_t partition,
                                     std::shared_ptr<storage::PartitionLog> log) {
  const PartitionId id{topic, partition};
  if (partitions_.count(id) > 0) return Status::Ok();
  auto part = std::make_shared<Partition>();
  part->topic = topic;
  part->partition = partition;
  part->log = std::move(log);
  // A single node commits what is durable, and every batch recovered passed
  // its checksum when the store opened: the commit index saved before a
  // crash may lag behind, never the log.
  const uint64_t end = part->log->NextOffset();
  if (part->log->CommitIndex() < end) {
    SPRAWL_RETURN_IF_ERROR(part->log->SetCommitIndex(end));
  }
  SPRAWL_RETURN_IF_ERROR(RebuildProducers(*part, part->log->CommitIndex()));
  partitions_.emplace(id, std::move(part));
  return Status::Ok();
}

Status PublishPipeline::MarkReplicated(const std::string& topic, uint32_t partition,
                                       uint64_t applied_end) {
  auto found = partitions_.find({topic, partition});
  if (found == partitions_.end()) {
    return NotFound("topic '" + topic + "' has no partition " + std::to_string(partition));
  }
  Partition& part = *found->second;
  const uint64_t end = part.log->NextOffset();
  // The mark is written after the appends it covers, on the same writer: it
  // can lag behind the log, never run ahead of it. A log retained past the
  // mark (retention) restarts the count at its first offset.
  part.replicated = true;
  part.apply_end = std::clamp(applied_end, part.log->FirstOffset(), end);
  part.producers = ProducerTable();
  return RebuildProducers(part, part.apply_end);
}

Status PublishPipeline::RebuildProducers(Partition& part, uint64_t end) {
  storage::PartitionLog& log = *part.log;
  uint64_t offset = std::max(log.FirstOffset(),
                             end > kProducerRebuildRecords ? end - kProducerRebuildRecords : 0);
  while (offset < end) {
    storage::ReadLimits limits;
    limits.max_bytes = 4u << 20;
    limits.end_offset = end;
    auto read = log.Read(offset, limits);
    if (!read.ok()) {
      // A corrupt batch ends the rebuild; producers after it restart freely.
      log::Warn("producer state rebuild stopped", {{"topic", part.topic},
                                                   {"partition", part.partition},
                                                   {"error", read.status().ToString()}});
      break;
    }
    if (read->batches.empty()) break;
    for (const storage::StoredBatch& batch : read->batches) {
      auto view = storage::RecordBatchView::ParseVerified(*batch.bytes);
      if (!view.ok() || view->producer().producer_id == 0) continue;
      part.producers.Record(view->producer().producer_id, view->producer().base_sequence,
                            view->record_count(), batch.base_offset, batch.last_offset,
                            view->producer().epoch);
    }
    offset = read->next_offset;
  }
  return Status::Ok();
}

void PublishPipeline::DropTopic(const std::string& topic) {
  std::vector<AppendDone> orphaned;
  for (auto it = partitions_.begin(); it != partitions_.end();) {
    if (it->first.first != topic) {
      ++it;
      continue;
    }
    Partition& part = *it->second;
    part.dropped = true;
    for (auto& [end, proposal] : part.proposals) {
      for (AppendDone& waiter : proposal.on_append) orphaned.push_back(std::move(waiter));
      for (AppendDone& waiter : proposal.on_commit) orphaned.push_back(std::move(waiter));
    }
    part.proposals.clear();
    for (auto& [index, proposal] : part.raft_proposals) {
      --appends_in_flight_;
      pending_publish_bytes_ -= proposal.bytes;
      orphaned.push_back([done = std::move(proposal.done)](Result<storage::AppendInfo> info) {
        if (done) done(false, std::move(info));
      });
    }
    part.raft_proposals.clear();
    it = partitions_.erase(it);
  }
  for (AppendDone& waiter : orphaned) {
    waiter(NotFound("topic '" + topic + "' was deleted before the batch was committed"));
  }
}

uint32_t PublishPipeline::RetryAfterHintMs() const {
  // Roughly the time the backlog takes to drain at a modest 256 MiB/s.
  const uint64_t drain_ms = pending_publish_bytes_ / (256u << 10);
  return static_cast<uint32_t>(std::clamp<uint64_t>(drain_ms, options_.retry_after_ms, 1000));
}

Status PublishPipeline::Admit(uint64_t bytes) const {
  if (pending_publish_bytes_ > 0 &&
      pending_publish_bytes_ + bytes > options_.max_pending_publish_bytes) {
    return Status(ErrorCode::kRetryAfter, "the node has " + std::to_string(pending_publish_bytes_) +
                                              " bytes of publishes in progress; retry shortly");
  }
  return Status::Ok();
}

void PublishPipeline::Publish(const Topic& topic, const pb::PublishRequest& request,
                              std::vector<std::string> batches,
                              std::function<void(Result<pb::PublishResponse>)> done) {
  auto call = std::make_shared<PublishCall>();
  call->remaining = batches.size();
  call->ack_none = request.acks() == pb::ACK_NONE;
  call->ack_all = request.acks() == pb::ACK_ALL;
  call->start_nanos = clock_.MonotonicNanos();
  call->done = std::move(done);
  ++publishes_in_progress_;
  for (size_t i = 0; i < batches.size(); ++i) call->response.add_results();
  for (size_t i = 0; i < batches.size(); ++i) {
    PublishOne(call, i, topic, request.batches(static_cast<int>(i)).partition(),
               std::move(batches[i]));
  }
  if (call->ack_none && call->done) {
    // Nobody waits for the outcome; the batches are appended.
    auto done_now = std::move(call->done);
    call->done = nullptr;
    done_now(call->response);
  }
}

void PublishPipeline::PublishOne(const std::shared_ptr<PublishCall>& call, size_t index,
                                 const Topic& topic, uint32_t partition, std::string batch) {
  pb::PublishResult& result = *call->response.mutable_results(static_cast<int>(index));
  result.set_partition(partition);
  auto fail = [&](const Status& status) {
    *result.mutable_error() = ToError(status);
    if (status.code() == ErrorCode::kRetryAfter) {
      result.mutable_error()->set_retry_after_ms(RetryAfterHintMs());
      metrics_.publish_retry_after.Increment();
    } else {
      metrics_.publish_rejected.Increment();
    }
    FinishBatch(call);
  };
  auto found = partitions_.find({topic.name, partition});
  if (partition >= topic.partitions.size() || found == partitions_.end()) {
    return fail(NotFound("topic '" + topic.name + "' has no partition " +
                         std::to_string(partition) + " (it has " +
                         std::to_string(topic.partitions.size()) + ")"));
  }
  const std::shared_ptr<Partition> part = found->second;
  const PartitionRoute route = RouteOf(topic, partition);
  Status leads = CheckLeads(topic, partition, route);
  if (!leads.ok()) return fail(leads);
  if (!part->failed.ok()) return fail(part->failed);
  auto view = storage::RecordBatchView::Parse(batch);
  if (!view.ok()) return fail(view.status());
  Status sizes = CheckRecordSizes(*view, topic.config.max_message_bytes);
  if (!sizes.ok()) return fail(sizes);
  Status current = CheckProducerEpoch(view->producer());
  if (!current.ok()) return fail(current);
  Status admitted = Admit(batch.size());
  if (!admitted.ok()) return fail(admitted);

  // The batch's acknowledgement: once its outcome (or, for a retry, the
  // original's) is known, and after a sync for ACK_ALL under a lazy policy.
  // A replicated batch is acknowledged once committed by a majority, as
  // Raft persists its entries (docs/replication.md): no extra local sync.
  const bool needs_sync = call->ack_all && sync_on_all_ && !route.Replicated();
  auto acknowledge = [this, call, index, needs_sync](bool duplicate,
                                                     Result<storage::AppendInfo> info) {
    pb::PublishResult& r = *call->response.mutable_results(static_cast<int>(index));
    if (!info.ok()) {
      *r.mutable_error() = ToError(info.status());
      metrics_.publish_rejected.Increment();
      return FinishBatch(call);
    }
    r.set_duplicate(duplicate);
    r.set_base_offset(info->base_offset);
    r.set_last_offset(info->last_offset);
    if (!needs_sync) return FinishBatch(call);
    sync_waiter_.AfterSync([this, call, index](Status synced) {
      post_([this, call, index, synced = std::move(synced)] {
        if (!synced.ok()) {
          *call->response.mutable_results(static_cast<int>(index))->mutable_error() =
              ToError(synced);
        }
        FinishBatch(call);
      });
    });
  };

  if (route.kind == PartitionRoute::Kind::kLeader) {
    // Idempotence is judged when the entry applies, the same on every
    // replica; a retry of a batch in flight is proposed again and applies as
    // a duplicate. Both ack levels wait for the commit: offsets are assigned
    // when the entry applies.
    return ProposeReplicated(part, std::move(batch), std::move(acknowledge));
  }
  const storage::ProducerStamp producer = view->producer();
  const uint32_t count = view->record_count();
  if (producer.producer_id != 0) {
    const SequenceCheck check =
        part->producers.Check(producer.producer_id, producer.base_sequence, count, producer.epoch);
    switch (check.verdict) {
      case SequenceVerdict::kFenced:
        return fail(FencedProducer(producer, check.latest_epoch));
      case SequenceVerdict::kOutOfOrder:
        return fail(Status(ErrorCode::kOutOfOrderSequence,
                           "producer " + std::to_string(producer.producer_id) + " sent sequence " +
                               std::to_string(producer.base_sequence) +
                               " but the next expected is " +
                               std::to_string(check.expected_sequence)));
      case SequenceVerdict::kDuplicate:
        metrics_.publish_duplicates.Increment();
        return acknowledge(true, storage::AppendInfo{check.base_offset.value_or(0),
                                                     check.last_offset.value_or(0)});
      case SequenceVerdict::kInFlight: {
        // The original is appended but not committed: its outcome is the retry's.
        metrics_.publish_duplicates.Increment();
        auto proposal = part->proposals.find(*check.last_offset + 1);
        if (proposal == part->proposals.end()) {
          return fail(Internal("producer " + std::to_string(producer.producer_id) +
                               " has a batch in flight that the partition does not know"));
        }
        proposal->second.on_commit.push_back([acknowledge](Result<storage::AppendInfo> info) {
          acknowledge(true, std::move(info));
        });
        return;
      }
      case SequenceVerdict::kAppend:
        break;
    }
  }
  // ACK_LEADER is answered once the leader appended the batch, ACK_ALL once it
  // is committed; on one node both happen together.
  Propose(part, std::move(batch), producer, count, call->ack_all,
          [acknowledge](Result<storage::AppendInfo> info) { acknowledge(false, std::move(info)); });
}

Status PublishPipeline::CheckProducerEpoch(const storage::ProducerStamp& producer) const {
  if (!latest_epoch_ || !storage::IsNamedProducer(producer.producer_id)) return Status::Ok();
  const uint16_t latest = latest_epoch_(storage::ProducerFamily(producer.producer_id));
  return producer.epoch < latest ? FencedProducer(producer, latest) : Status::Ok();
}

Status FencedProducer(const storage::ProducerStamp& producer, uint16_t latest_epoch) {
  return Status(ErrorCode::kProducerFenced,
                "this named producer's epoch " + std::to_string(producer.epoch) +
                    " is fenced: another instance under the same name started with epoch " +
                    std::to_string(latest_epoch));
}

void PublishPipeline::Append(const Topic& topic, uint32_t partition, std::string batch,
                             AppendDone done) {
  auto found = partitions_.find({topic.name, partition});
  if (found == partitions_.end()) {
    return done(
        NotFound("topic '" + topic.name + "' has no partition " + std::to_string(partition)));
  }
  const PartitionRoute route = RouteOf(topic, partition);
  Status leads = CheckLeads(topic, partition, route);
  if (!leads.ok()) return done(leads);
  Status admitted = Admit(batch.size());
  if (!admitted.ok()) return done(admitted);
  auto view = storage::RecordBatchView::Parse(batch);
  if (!view.ok()) return done(view.status());
  if (route.kind == PartitionRoute::Kind::kLeader) {
    return ProposeReplicated(found->second, std::move(batch),
                             [done = std::move(done)](bool, Result<storage::AppendInfo> info) {
                               done(std::move(info));
                             });
  }
  const uint32_t count = view->record_count();
  Propose(found->second, std::move(batch), view->producer(), count, /*wait_for_commit=*/true,
          std::move(done));
}

void PublishPipeline::Propose(const std::shared_ptr<Partition>& part, std::string batch,
                              storage::ProducerStamp producer, uint32_t count, bool wait_for_commit,
                              AppendDone done) {
  auto ticket = std::make_shared<Ticket>();
  ticket->bytes = batch.size();
  ticket->done = std::move(done);
  pending_publish_bytes_ += ticket->bytes;
  metrics_.pending_publish_bytes.Set(static_cast<int64_t>(pending_publish_bytes_));
  ++appends_in_flight_;
  storage::PartitionLog& log = *part->log;
  const uint64_t base = log.NextOffset();
  // The completion holds a share of the partition (and its log): a topic
  // deleted meanwhile leaves it a dropped partition, never a dangling one.
  log.AppendAsync(std::move(batch), kSingleNodeTerm,
                  [this, part, ticket](Result<storage::AppendInfo> info) {
                    post_([this, part, ticket, info = std::move(info)]() mutable {
                      OnAppended(part, ticket, std::move(info));
                    });
                  });
  // The log took the batch when it moved on (only this thread appends).
  if (count == 0 || log.NextOffset() != base + count) return;
  const storage::AppendInfo info{base, base + count - 1};
  ticket->proposed = true;
  ticket->end_offset = info.last_offset + 1;
  if (producer.producer_id != 0) {
    part->producers.Propose(producer.producer_id, producer.base_sequence, count, info.base_offset,
                            info.last_offset, producer.epoch);
  }
  Proposal& proposal = part->proposals[ticket->end_offset];
  proposal.info = info;
  if (ticket->done) {
    (wait_for_commit ? proposal.on_commit : proposal.on_append).push_back(std::move(ticket->done));
  }
  ticket->done = nullptr;
}

void PublishPipeline::OnAppended(const std::shared_ptr<Partition>& part,
                                 const std::shared_ptr<Ticket>& ticket,
                                 Result<storage::AppendInfo> info) {
  --appends_in_flight_;
  pending_publish_bytes_ -= ticket->bytes;
  metrics_.pending_publish_bytes.Set(static_cast<int64_t>(pending_publish_bytes_));
  if (!ticket->proposed) {
    // Refused before it was appended (a batch the log rejected): nothing to undo.
    if (ticket->done) ticket->done(std::move(info));
    return;
  }
  if (part->dropped) return;  // its waiters were told when the topic went
  if (!info.ok()) {
    auto it = part->proposals.find(ticket->end_offset);
    if (it == part->proposals.end()) return;
    std::vector<AppendDone> waiters = std::move(it->second.on_append);
    for (AppendDone& w : it->second.on_commit) waiters.push_back(std::move(w));
    part->producers.Abort(it->second.info.base_offset);
    part->proposals.erase(it);
    log::Error("append failed", {{"topic", part->topic},
                                 {"partition", part->partition},
                                 {"error", info.status().ToString()}});
    for (AppendDone& waiter : waiters) waiter(info.status());
    return;
  }
  metrics_.published_batches.Increment();
  metrics_.published_records.Increment(info->last_offset - info->base_offset + 1);
  metrics_.published_bytes.Increment(ticket->bytes);
  auto proposal = part->proposals.find(ticket->end_offset);
  if (proposal != part->proposals.end()) {
    std::vector<AppendDone> appended = std::move(proposal->second.on_append);
    proposal->second.on_append.clear();
    for (AppendDone& waiter : appended) waiter(*info);
  }
  // One node: durable under the fsync policy is committed.
  Commit(*part, info->last_offset + 1);
}

void PublishPipeline::Commit(Partition& part, uint64_t commit_index) {
  if (commit_index > part.log->CommitIndex()) {
    Status s = part.log->SetCommitIndex(commit_index);
    if (!s.ok()) {
      log::Error("commit index not advanced",
                 {{"topic", part.topic}, {"partition", part.partition}, {"error", s.ToString()}});
      return;
    }
  }
  part.producers.Commit(commit_index);
  std::vector<std::pair<storage::AppendInfo, std::vector<AppendDone>>> committed;
  while (!part.proposals.empty() && part.proposals.begin()->first <= commit_index) {
    auto it = part.proposals.begin();
    std::vector<AppendDone> waiters = std::move(it->second.on_append);
    for (AppendDone& w : it->second.on_commit) waiters.push_back(std::move(w));
    committed.emplace_back(it->second.info, std::move(waiters));
    part.proposals.erase(it);
  }
  for (auto& [info, waiters] : committed) {
    for (AppendDone& waiter : waiters) waiter(info);
  }
  on_commit_(part.topic, part.partition);
}

PartitionRoute PublishPipeline::RouteOf(const Topic& topic, uint32_t partition) const {
  return replication_ != nullptr ? replication_->Route(topic.name, partition) : PartitionRoute{};
}

Status PublishPipeline::CheckLeads(const Topic& topic, uint32_t partition,
                                   const PartitionRoute& route) {
  if (route.kind != PartitionRoute::Kind::kFollower &&
      route.kind != PartitionRoute::Kind::kElsewhere) {
    return Status::Ok();
  }
  return NotLeader("this node does not lead partition " + std::to_string(partition) +
                       " of topic '" + topic.name + "'",
                   route.hint);
}

void PublishPipeline::ProposeReplicated(const std::shared_ptr<Partition>& part, std::string batch,
                                        ReplicatedDone done) {
  const uint64_t bytes = batch.size();
  // The log assigns both at apply. Zeroed here, no batch can pass for one of
  // the replicas' control entries (core/replica/control_entry.h).
  storage::StampBatch(&batch, 0, 0);
  auto proposed = replication_->Propose(part->topic, part->partition, std::move(batch));
  if (!proposed.ok()) return done(false, proposed.status());
  pending_publish_bytes_ += bytes;
  metrics_.pending_publish_bytes.Set(static_cast<int64_t>(pending_publish_bytes_));
  ++appends_in_flight_;
  auto [it, inserted] = part->raft_proposals.try_emplace(proposed->index);
  if (!inserted) {
    // An index proposed in an earlier term whose entry was overwritten: that
    // proposal is lost.
    ResolveReplicated(*part, proposed->index, 0,
                      NotLeader("leadership changed before the batch committed", ""), false);
    it = part->raft_proposals.try_emplace(proposed->index).first;
  }
  it->second = ReplicatedProposal{proposed->term, bytes, std::move(done)};
}

void PublishPipeline::ResolveReplicated(Partition& part, uint64_t index, uint64_t term,
                                        const Result<storage::AppendInfo>& outcome,
                                        bool duplicate) {
  // Every proposal at or below `index` is decided: the one at `index` by
  // this outcome if its term matches, the others were overwritten.
  std::vector<std::pair<ReplicatedDone, Result<storage::AppendInfo>>> decided;
  while (!part.raft_proposals.empty() && part.raft_proposals.begin()->first <= index) {
    auto it = part.raft_proposals.begin();
    ReplicatedProposal p = std::move(it->second);
    const bool mine = it->first == index && p.term == term && term != 0;
    part.raft_proposals.erase(it);
    --appends_in_flight_;
    pending_publish_bytes_ -= p.bytes;
    decided.emplace_back(std::move(p.done),
                         mine ? outcome
                              : Result<storage::AppendInfo>(NotLeader(
                                    "leadership changed before the batch committed", "")));
  }
  metrics_.pending_publish_bytes.Set(static_cast<int64_t>(pending_publish_bytes_));
  for (auto& [done, result] : decided) {
    if (done) done(duplicate && result.ok(), result);
  }
}

void PublishPipeline::FailReplicatedProposals(const std::string& topic, uint32_t partition,
                                              const Status& why) {
  auto found = partitions_.find({topic, partition});
  if (found == partitions_.end() || found->second->raft_proposals.empty()) return;
  Partition& part = *found->second;
  std::vector<ReplicatedDone> failed;
  for (auto& [index, p] : part.raft_proposals) {
    --appends_in_flight_;
    pending_publish_bytes_ -= p.bytes;
    failed.push_back(std::move(p.done));
  }
  part.raft_proposals.clear();
  metrics_.pending_publish_bytes.Set(static_cast<int64_t>(pending_publish_bytes_));
  for (ReplicatedDone& done : failed) {
    if (done) done(false, why);
  }
}

Result<uint64_t> PublishPipeline::RestartReplicatedAt(const std::string& topic, uint32_t partition,
                                                      uint64_t start) {
  auto found = partitions_.find({topic, partition});
  if (found == partitions_.end()) {
    return NotFound("topic '" + topic + "' has no partition " + std::to_string(partition));
  }
  Partition& part = *found->second;
  if (!part.failed.ok()) return part.failed;
  if (!part.replicated || start <= part.apply_end) {
    return InvalidArgument("partition " + std::to_string(partition) + " of topic '" + topic +
                           "' cannot restart at " + std::to_string(start) + ": it is applied to " +
                           std::to_string(part.apply_end));
  }
  storage::PartitionSnapshot snapshot;
  snapshot.last_offset = start - 1;
  SPRAWL_RETURN_IF_ERROR(part.log->InstallSnapshot(snapshot));
  part.apply_end = start;
  part.producers = ProducerTable();
  return start;
}

Result<uint64_t> PublishPipeline::ApplyReplicated(const std::string& topic, uint32_t partition,
                                                  uint64_t index, uint64_t term,
                                                  std::string_view batch) {
  auto found = partitions_.find({topic, partition});
  if (found == partitions_.end()) {
    return NotFound("topic '" + topic + "' has no partition " + std::to_string(partition));
  }
  const std::shared_ptr<Partition> part = found->second;
  if (!part->failed.ok()) return part->failed;
  if (batch.empty()) {
    // A control entry (a new leader's no-op, a membership change): it takes
    // no offset, and a proposal still waiting at its index was overwritten.
    ResolveReplicated(*part, index, 0,
                      NotLeader("leadership changed before the batch committed", ""), false);
    return part->apply_end;
  }
  storage::PartitionLog& log = *part->log;
  // Every replica decides the same way from the same entries: a batch that
  // does not verify, a duplicate or an out-of-order sequence leaves no trace.
  auto view = storage::RecordBatchView::ParseVerified(batch);
  if (!view.ok()) {
    ResolveReplicated(*part, index, term, view.status(), false);
    return part->apply_end;
  }
  const storage::ProducerStamp producer = view->producer();
  const uint32_t count = view->record_count();
  if (producer.producer_id != 0) {
    const SequenceCheck check =
        part->producers.Check(producer.producer_id, producer.base_sequence, count, producer.epoch);
    if (check.verdict == SequenceVerdict::kFenced) {
      ResolveReplicated(*part, index, term, FencedProducer(producer, check.latest_epoch), false);
      return part->apply_end;
    }
    if (check.verdict == SequenceVerdict::kDuplicate ||
        check.verdict == SequenceVerdict::kInFlight) {
      metrics_.publish_duplicates.Increment();
      ResolveReplicated(
          *part, index, term,
          storage::AppendInfo{check.base_offset.value_or(0), check.last_offset.value_or(0)}, true);
      return part->apply_end;
    }
    if (check.verdict == SequenceVerdict::kOutOfOrder) {
      ResolveReplicated(
          *part, index, term,
          Status(ErrorCode::kOutOfOrderSequence,
                 "producer " + std::to_string(producer.producer_id) + " sent sequence " +
                     std::to_string(producer.base_sequence) + " but the next expected is " +
                     std::to_string(check.expected_sequence)),
          false);
      return part->apply_end;
    }
  }
  storage::AppendInfo info{part->apply_end, part->apply_end + count - 1};
  if (part->apply_end >= log.NextOffset()) {
    const uint64_t base = log.NextOffset();
    log.AppendAsync(std::string(batch), term,
                    [part, post = post_](const Result<storage::AppendInfo>& appended) {
                      if (appended.ok()) return;
                      post([part, status = appended.status()] {
                        // The replica can no longer follow its group's log.
                        if (part->failed.ok()) part->failed = status;
                        log::Error("a committed batch could not be appended; the replica stops",
                                   {{"topic", part->topic},
                                    {"partition", part->partition},
                                    {"error", status.ToString()}});
                      });
                    });
    if (log.NextOffset() != base + count) {
      part->failed = DataCorruption("a committed batch was refused by the log");
      return part->failed;
    }
    info = {base, base + count - 1};
    metrics_.published_batches.Increment();
    metrics_.published_records.Increment(count);
    metrics_.published_bytes.Increment(batch.size());
  }
  part->apply_end = info.last_offset + 1;
  if (producer.producer_id != 0) {
    part->producers.Record(producer.producer_id, producer.base_sequence, count, info.base_offset,
                           info.last_offset, producer.epoch);
  }
  if (log.CommitIndex() < part->apply_end) {
    Status s = log.SetCommitIndex(part->apply_end);
    if (!s.ok()) return s;
  }
  ResolveReplicated(*part, index, term, info, false);
  on_commit_(part->topic, part->partition);
  return part->apply_end;
}

void PublishPipeline::FinishBatch(const std::shared_ptr<PublishCall>& call) {
  if (--call->remaining > 0) return;
  --publishes_in_progress_;
  metrics_.publish_seconds.Observe(
      static_cast<double>(clock_.MonotonicNanos() - call->start_nanos) / 1e9);
  if (call->done) {
    auto done = std::move(call->done);
    call->done = nullptr;
    done(std::move(call->response));
  }
}

}  // namespace sprawl::broker
