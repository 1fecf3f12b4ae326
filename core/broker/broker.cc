#include "core/broker/broker.h"

#include <algorithm>
#include <limits>

#include "core/storage/record_batch.h"
#include "core/util/logging.h"

namespace sprawl::broker {
Broker::Broker(storage::Store& store, const Clock& clock, metrics::Registry& registry, Post post,
               BrokerOptions options)
    : store_(store),
      clock_(clock),
      post_(std::move(post)),
      options_(options),
      metrics_(registry),
      topics_(store),
      pipeline_(
          store, clock, metrics_, post_, options_,
          [this](const std::string& topic, uint32_t partition) { OnCommitted(topic, partition); }) {
}

Broker::~Broker() = default;

Status Broker::Open() {
  SPRAWL_RETURN_IF_ERROR(topics_.Load());
  // Before the groups: their cursors are checked against the commit index.
  for (const Topic* topic : topics_.List()) SPRAWL_RETURN_IF_ERROR(ServePartitions(*topic));
  return LoadGroups();
}

Status Broker::ServePartitions(const Topic& topic) {
  for (uint32_t p = 0; p < topic.partitions.size(); ++p) {
    SPRAWL_RETURN_IF_ERROR(pipeline_.AddPartition(topic.name, p, topic.partitions[p]));
  }
  return Status::Ok();
}

Result<pb::TopicDescription> Broker::CreateTopic(const pb::CreateTopicRequest& request) {
  SPRAWL_ASSIGN_OR_RETURN(const Topic* topic, topics_.Create(request.name(), request.config()));
  SPRAWL_RETURN_IF_ERROR(ServePartitions(*topic));
  return TopicRegistry::Describe(*topic);
}

Result<pb::TopicDescription> Broker::AlterTopic(const pb::AlterTopicRequest& request) {
  SPRAWL_ASSIGN_OR_RETURN(const Topic* topic, topics_.Alter(request.name(), request.config()));
  SPRAWL_RETURN_IF_ERROR(ServePartitions(*topic));
  OnTopicAltered(*topic);
  return TopicRegistry::Describe(*topic);
}

Status Broker::DeleteTopic(const pb::DeleteTopicRequest& request) {
  SPRAWL_RETURN_IF_ERROR(topics_.Delete(request.name()));
  DropGroupsOf(request.name());
  pipeline_.DropTopic(request.name());
  std::vector<ParkedFetch> orphaned = parked_.TakeTopic(request.name());
  metrics_.parked_fetches.Set(static_cast<int64_t>(parked_.size()));
  for (ParkedFetch& parked : orphaned) {
    parked.done(NotFound("topic '" + request.name() + "' was deleted"));
  }
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

void Broker::Publish(const pb::PublishRequest& request, std::vector<std::string> batches,
                     std::function<void(Result<pb::PublishResponse>)> done) {
  auto topic = topics_.Find(request.topic());
  if (!topic.ok()) return done(topic.status());
  if (request.batches_size() == 0) return done(InvalidArgument("a publish request needs a batch"));
  if (static_cast<size_t>(request.batches_size()) != batches.size()) {
    return done(InvalidArgument("the request lists " + std::to_string(request.batches_size()) +
                                " batches but carries " + std::to_string(batches.size())));
  }
  pipeline_.Publish(**topic, request, std::move(batches), std::move(done));
}

void Broker::OnCommitted(const std::string& topic, uint32_t partition) {
  for (auto& [id, group] : groups_) {
    if (id.first == topic) Pump(group);
  }
  for (ParkedFetch& parked : parked_.TakePartition(topic, partition)) {
    auto reply = ReadCommitted(parked.request);
    if (reply.ok() && reply->batches.empty()) {
      parked_.Park(std::move(parked));  // nothing past its offset yet
      continue;
    }
    parked.done(std::move(reply));
  }
  metrics_.parked_fetches.Set(static_cast<int64_t>(parked_.size()));
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
  if (parked_.size() >= options_.max_parked_fetches) {
    return done(
        Status(ErrorCode::kRetryAfter, "too many fetches are waiting for records; retry shortly"));
  }
  const uint32_t wait_ms = std::min(request.max_wait_ms(), options_.max_fetch_wait_ms);
  parked_.Park({request, clock_.MonotonicNanos() + int64_t{wait_ms} * 1'000'000, std::move(done)});
  metrics_.parked_fetches.Set(static_cast<int64_t>(parked_.size()));
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
  // Taken first: a callback may start another fetch.
  std::vector<ParkedFetch> expired = parked_.TakeExpired(clock_.MonotonicNanos());
  metrics_.parked_fetches.Set(static_cast<int64_t>(parked_.size()));
  for (ParkedFetch& p : expired) p.done(ReadCommitted(p.request));
  TickGroups();
}

int64_t Broker::NextDeadlineNanos() const {
  int64_t next = parked_.NextDeadlineNanos();
  const int64_t now_ms = NowMs();
  bool dirty = false;
  for (const auto& [id, group] : groups_) {
    const int64_t ms = group.coordinator->NextDeadline(now_ms);
    if (ms != std::numeric_limits<int64_t>::max()) next = std::min(next, ms * 1'000'000);
    dirty = dirty || !group.dirty.empty();
  }
  if (dirty) next = std::min(next, (last_checkpoint_ms_ + 200) * 1'000'000);
  if (!deferred_letters_.empty()) next = std::min(next, deferred_letters_at_ms_ * 1'000'000);
  return next;
}

}  // namespace sprawl::broker
