#include "core/broker/broker.h"

#include <algorithm>
#include <limits>

#include "core/storage/record_batch.h"
#include "core/util/logging.h"

namespace sprawl::broker {
namespace {

// Producer state is rebuilt from at most this many records at each
// partition's tail; a producer silent for longer may restart its sequence.
constexpr uint64_t kProducerRebuildRecords = 100'000;

pb::Error ToError(const Status& status) {
  pb::Error e;
  e.set_code(static_cast<uint32_t>(status.code()));
  e.set_message(status.message());
  e.set_retriable(status.retriable());
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

struct Broker::PublishCall {
  pb::PublishResponse response;
  size_t remaining = 0;
  bool ack_none = false;
  bool ack_all = false;
  int64_t start_nanos = 0;
  std::function<void(Result<pb::PublishResponse>)> done;
};

Broker::Broker(storage::Store& store, const Clock& clock, metrics::Registry& registry, Post post,
               BrokerOptions options)
    : store_(store),
      clock_(clock),
      post_(std::move(post)),
      options_(options),
      metrics_(registry),
      topics_(store),
      sync_waiter_(store),
      sync_on_all_(store.options().mode == storage::StorageMode::kDisk &&
                   store.options().fsync.kind != storage::FsyncPolicy::Kind::kAlways) {}

Broker::~Broker() = default;

Status Broker::Open() {
  SPRAWL_RETURN_IF_ERROR(topics_.Load());
  for (const Topic* topic : topics_.List()) {
    SPRAWL_RETURN_IF_ERROR(RebuildProducers(*topic));
  }
  return LoadGroups();
}

Status Broker::RebuildProducers(const Topic& topic) {
  for (uint32_t p = 0; p < topic.partitions.size(); ++p) {
    storage::PartitionLog* log = topic.partitions[p];
    const uint64_t end = log->CommitIndex();
    uint64_t offset = std::max(log->FirstOffset(),
                               end > kProducerRebuildRecords ? end - kProducerRebuildRecords : 0);
    ProducerTable& table = producers_[{topic.name, p}];
    while (offset < end) {
      storage::ReadLimits limits;
      limits.max_bytes = 4u << 20;
      limits.end_offset = end;
      auto read = log->Read(offset, limits);
      if (!read.ok()) {
        // A corrupt batch ends the rebuild; producers after it restart freely.
        log::Warn("producer state rebuild stopped",
                  {{"topic", topic.name}, {"partition", p}, {"error", read.status().ToString()}});
        break;
      }
      if (read->batches.empty()) break;
      for (const storage::StoredBatch& batch : read->batches) {
        auto view = storage::RecordBatchView::ParseVerified(*batch.bytes);
        if (!view.ok() || view->producer().producer_id == 0) continue;
        table.Record(view->producer().producer_id, view->producer().base_sequence,
                     view->record_count(), batch.base_offset, batch.last_offset);
      }
      offset = read->next_offset;
    }
  }
  return Status::Ok();
}

Result<pb::TopicDescription> Broker::CreateTopic(const pb::CreateTopicRequest& request) {
  SPRAWL_ASSIGN_OR_RETURN(const Topic* topic, topics_.Create(request.name(), request.config()));
  return TopicRegistry::Describe(*topic);
}

Result<pb::TopicDescription> Broker::AlterTopic(const pb::AlterTopicRequest& request) {
  SPRAWL_ASSIGN_OR_RETURN(const Topic* topic, topics_.Alter(request.name(), request.config()));
  OnTopicAltered(*topic);
  return TopicRegistry::Describe(*topic);
}

Status Broker::DeleteTopic(const pb::DeleteTopicRequest& request) {
  SPRAWL_RETURN_IF_ERROR(topics_.Delete(request.name()));
  DropGroupsOf(request.name());
  for (auto it = producers_.begin(); it != producers_.end();) {
    it = it->first.first == request.name() ? producers_.erase(it) : std::next(it);
  }
  std::vector<ParkedFetch> orphaned;
  for (auto it = parked_.begin(); it != parked_.end();) {
    if (it->first.first != request.name()) {
      ++it;
      continue;
    }
    for (ParkedFetch& parked : it->second) orphaned.push_back(std::move(parked));
    parked_count_ -= it->second.size();
    it = parked_.erase(it);
  }
  for (ParkedFetch& parked : orphaned) {
    parked.done(NotFound("topic '" + request.name() + "' was deleted"));
  }
  metrics_.parked_fetches.Set(static_cast<int64_t>(parked_count_));
  return Status::Ok();
}

Result<pb::TopicDescription> Broker::DescribeTopic(const pb::DescribeTopicRequest& request) const {
  SPRAWL_ASSIGN_OR_RETURN(const Topic* topic, topics_.Find(request.name()));
  return TopicRegistry::Describe(*topic);
}

pb::ListTopicsResponse Broker::ListTopics() const {
  pb::ListTopicsResponse out;
  for (const Topic* topic : topics_.List()) *out.add_topics() = TopicRegistry::Describe(*topic);
  return out;
}

uint32_t Broker::RetryAfterHintMs() const {
  // Roughly the time the backlog takes to drain at a modest 256 MiB/s.
  const uint64_t drain_ms = pending_publish_bytes_ / (256u << 10);
  return static_cast<uint32_t>(std::clamp<uint64_t>(drain_ms, options_.retry_after_ms, 1000));
}

void Broker::Publish(const pb::PublishRequest& request, std::vector<std::string> batches,
                     std::function<void(Result<pb::PublishResponse>)> done) {
  auto topic = topics_.Find(request.topic());
  if (!topic.ok()) return done(topic.status());
  if (request.batches_size() == 0) return done(InvalidArgument("a publish request needs a batch"));
  if (static_cast<size_t>(request.batches_size()) != batches.size()) {
    return done(InvalidArgument("the request lists " + std::to_string(request.batches_size()) +
                                " batches but carries " + std::to_string(batches.size())));
  }
  auto call = std::make_shared<PublishCall>();
  call->remaining = batches.size();
  call->ack_none = request.acks() == pb::ACK_NONE;
  call->ack_all = request.acks() == pb::ACK_ALL;
  call->start_nanos = clock_.MonotonicNanos();
  call->done = std::move(done);
  ++publishes_in_progress_;
  for (size_t i = 0; i < batches.size(); ++i) call->response.add_results();
  for (size_t i = 0; i < batches.size(); ++i) {
    PublishOne(call, i, **topic, request.batches(static_cast<int>(i)).partition(),
               std::move(batches[i]));
  }
  if (call->ack_none && call->done) {
    // Nobody waits for the outcome; the batches are queued.
    auto done_now = std::move(call->done);
    call->done = nullptr;
    done_now(call->response);
  }
}

void Broker::PublishOne(const std::shared_ptr<PublishCall>& call, size_t index, const Topic& topic,
                        uint32_t partition, std::string batch) {
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
    FinishBatch(call, index);
  };
  if (partition >= topic.partitions.size()) {
    return fail(NotFound("topic '" + topic.name + "' has no partition " +
                         std::to_string(partition) + " (it has " +
                         std::to_string(topic.partitions.size()) + ")"));
  }
  auto view = storage::RecordBatchView::Parse(batch);
  if (!view.ok()) return fail(view.status());
  Status sizes = CheckRecordSizes(*view, topic.config.max_message_bytes);
  if (!sizes.ok()) return fail(sizes);
  const uint64_t bytes = batch.size();
  if (pending_publish_bytes_ > 0 &&
      pending_publish_bytes_ + bytes > options_.max_pending_publish_bytes) {
    return fail(
        Status(ErrorCode::kRetryAfter, "the node has " + std::to_string(pending_publish_bytes_) +
                                           " bytes of publishes in progress; retry shortly"));
  }
  const storage::ProducerStamp producer = view->producer();
  const uint32_t count = view->record_count();
  ProducerTable& table = producers_[{topic.name, partition}];
  if (producer.producer_id != 0) {
    const SequenceCheck check = table.Check(producer.producer_id, producer.base_sequence, count);
    if (check.verdict == SequenceVerdict::kOutOfOrder) {
      return fail(Status(ErrorCode::kOutOfOrderSequence,
                         "producer " + std::to_string(producer.producer_id) + " sent sequence " +
                             std::to_string(producer.base_sequence) + " but the next expected is " +
                             std::to_string(check.expected_sequence)));
    }
    if (check.verdict == SequenceVerdict::kDuplicate) {
      metrics_.publish_duplicates.Increment();
      result.set_duplicate(true);
      result.set_base_offset(check.base_offset.value_or(0));
      result.set_last_offset(check.last_offset.value_or(0));
      return FinishBatch(call, index);
    }
  }

  storage::PartitionLog* log = topic.partitions[partition];
  const uint64_t base = log->NextOffset();
  pending_publish_bytes_ += bytes;
  metrics_.pending_publish_bytes.Set(static_cast<int64_t>(pending_publish_bytes_));
  std::string topic_name = topic.name;
  log->AppendAsync(
      std::move(batch), kSingleNodeTerm,
      [this, call, index, bytes, log, partition, topic_name](Result<storage::AppendInfo> info) {
        post_([this, call, index, bytes, log, partition, topic_name, info = std::move(info)] {
          pending_publish_bytes_ -= bytes;
          metrics_.pending_publish_bytes.Set(static_cast<int64_t>(pending_publish_bytes_));
          pb::PublishResult& r = *call->response.mutable_results(static_cast<int>(index));
          if (!info.ok()) {
            *r.mutable_error() = ToError(info.status());
            metrics_.publish_rejected.Increment();
            return FinishBatch(call, index);
          }
          r.set_base_offset(info->base_offset);
          r.set_last_offset(info->last_offset);
          metrics_.published_batches.Increment();
          metrics_.published_records.Increment(info->last_offset - info->base_offset + 1);
          metrics_.published_bytes.Increment(bytes);
          OnCommitted(topic_name, partition, log, info->last_offset + 1);
          if (call->ack_all && sync_on_all_) {
            sync_waiter_.AfterSync([this, call, index](Status synced) {
              post_([this, call, index, synced = std::move(synced)] {
                if (!synced.ok()) {
                  *call->response.mutable_results(static_cast<int>(index))->mutable_error() =
                      ToError(synced);
                }
                FinishBatch(call, index);
              });
            });
            return;
          }
          FinishBatch(call, index);
        });
      });
  // The append was accepted when the log moved on (only this thread appends).
  if (producer.producer_id != 0 && log->NextOffset() == base + count) {
    table.Record(producer.producer_id, producer.base_sequence, count, base, base + count - 1);
  }
}

void Broker::FinishBatch(const std::shared_ptr<PublishCall>& call, size_t index) {
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

void Broker::OnCommitted(const std::string& topic, uint32_t partition, storage::PartitionLog* log,
                         uint64_t next_offset) {
  if (next_offset > log->CommitIndex()) {
    Status s = log->SetCommitIndex(next_offset);
    if (!s.ok()) {
      log::Error("commit index not advanced",
                 {{"topic", topic}, {"partition", partition}, {"error", s.ToString()}});
      return;
    }
  }
  for (auto& [id, group] : groups_) {
    if (id.first == topic) Pump(group);
  }
  auto it = parked_.find({topic, partition});
  if (it == parked_.end()) return;
  std::vector<ParkedFetch> waiting;
  waiting.swap(it->second);
  parked_.erase(it);
  for (ParkedFetch& parked : waiting) {
    auto reply = ReadCommitted(parked.request);
    if (reply.ok() && reply->batches.empty()) {
      parked_[{topic, partition}].push_back(std::move(parked));
      continue;
    }
    --parked_count_;
    parked.done(std::move(reply));
  }
  metrics_.parked_fetches.Set(static_cast<int64_t>(parked_count_));
}

Result<FetchReply> Broker::ReadCommitted(const pb::FetchRequest& request) const {
  SPRAWL_ASSIGN_OR_RETURN(storage::PartitionLog * log,
                          topics_.Partition(request.topic(), request.partition()));
  const uint64_t first = log->FirstOffset();
  const uint64_t high_watermark = log->CommitIndex();
  const std::string where = request.topic() + "/" + std::to_string(request.partition());
  if (request.offset() < first) {
    return OffsetOutOfRange("offset " + std::to_string(request.offset()) + " of " + where +
                            " is below its first retained offset " + std::to_string(first));
  }
  if (request.offset() > high_watermark) {
    return OffsetOutOfRange("offset " + std::to_string(request.offset()) + " of " + where +
                            " is beyond its high watermark " + std::to_string(high_watermark));
  }
  FetchReply reply;
  reply.response.set_first_offset(first);
  reply.response.set_high_watermark(high_watermark);
  reply.response.set_next_offset(request.offset());
  if (request.offset() == high_watermark) return reply;
  storage::ReadLimits limits;
  limits.max_bytes = request.max_bytes() == 0
                         ? (1u << 20)
                         : std::min(request.max_bytes(), options_.max_fetch_bytes);
  limits.end_offset = high_watermark;
  SPRAWL_ASSIGN_OR_RETURN(storage::ReadResult read, log->Read(request.offset(), limits));
  reply.response.set_next_offset(read.next_offset);
  reply.batches.reserve(read.batches.size());
  for (storage::StoredBatch& batch : read.batches) reply.batches.push_back(std::move(batch.bytes));
  return reply;
}

void Broker::Fetch(const pb::FetchRequest& request, std::function<void(Result<FetchReply>)> done) {
  auto reply = ReadCommitted(request);
  if (!reply.ok() || !reply->batches.empty() || request.max_wait_ms() == 0) {
    if (reply.ok()) metrics_.fetched_batches.Increment(reply->batches.size());
    return done(std::move(reply));
  }
  if (parked_count_ >= options_.max_parked_fetches) {
    return done(
        Status(ErrorCode::kRetryAfter, "too many fetches are waiting for records; retry shortly"));
  }
  const uint32_t wait_ms = std::min(request.max_wait_ms(), options_.max_fetch_wait_ms);
  parked_[{request.topic(), request.partition()}].push_back(
      {request, clock_.MonotonicNanos() + int64_t{wait_ms} * 1'000'000, std::move(done)});
  ++parked_count_;
  metrics_.parked_fetches.Set(static_cast<int64_t>(parked_count_));
}

Result<pb::ListOffsetsResponse> Broker::ListOffsets(const pb::ListOffsetsRequest& request) const {
  SPRAWL_ASSIGN_OR_RETURN(storage::PartitionLog * log,
                          topics_.Partition(request.topic(), request.partition()));
  pb::ListOffsetsResponse out;
  const uint64_t high_watermark = log->CommitIndex();
  switch (request.spec()) {
    case pb::OFFSET_EARLIEST:
      out.set_offset(log->FirstOffset());
      break;
    case pb::OFFSET_LATEST:
      out.set_offset(high_watermark);
      break;
    case pb::OFFSET_TIMESTAMP: {
      SPRAWL_ASSIGN_OR_RETURN(uint64_t offset, log->OffsetForTimestamp(request.timestamp_ms()));
      out.set_offset(std::min(offset, high_watermark));
      break;
    }
    case pb::OFFSET_EXACT:
      if (request.offset() < log->FirstOffset() || request.offset() > high_watermark) {
        return OffsetOutOfRange(
            "offset " + std::to_string(request.offset()) + " is outside the retained range [" +
            std::to_string(log->FirstOffset()) + ", " + std::to_string(high_watermark) + "]");
      }
      out.set_offset(request.offset());
      break;
    default:
      return InvalidArgument("unknown offset spec " + std::to_string(request.spec()));
  }
  return out;
}

void Broker::Tick() {
  const int64_t now = clock_.MonotonicNanos();
  // Collected first: a callback may start another fetch.
  std::vector<ParkedFetch> expired;
  for (auto it = parked_.begin(); it != parked_.end();) {
    auto& list = it->second;
    for (auto p = list.begin(); p != list.end();) {
      if (p->deadline_nanos > now) {
        ++p;
        continue;
      }
      expired.push_back(std::move(*p));
      p = list.erase(p);
      --parked_count_;
    }
    it = list.empty() ? parked_.erase(it) : std::next(it);
  }
  metrics_.parked_fetches.Set(static_cast<int64_t>(parked_count_));
  for (ParkedFetch& p : expired) p.done(ReadCommitted(p.request));
  TickGroups();
}

int64_t Broker::NextDeadlineNanos() const {
  int64_t next = std::numeric_limits<int64_t>::max();
  for (const auto& [id, list] : parked_) {
    for (const ParkedFetch& p : list) next = std::min(next, p.deadline_nanos);
  }
  const int64_t now_ms = NowMs();
  bool dirty = false;
  for (const auto& [id, group] : groups_) {
    const int64_t ms = group.coordinator->NextDeadline(now_ms);
    if (ms != std::numeric_limits<int64_t>::max()) next = std::min(next, ms * 1'000'000);
    dirty = dirty || !group.dirty.empty();
  }
  if (dirty) next = std::min(next, (last_checkpoint_ms_ + 200) * 1'000'000);
  return next;
}

}  // namespace sprawl::broker
