#include "core/broker/fetch_handler.h"

#include <algorithm>

namespace sprawl::broker {

namespace pb = protocol::pb;

void FetchHandler::OnCommitted(const std::string& topic, uint32_t partition) {
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

void FetchHandler::DropTopic(const std::string& topic) {
  std::vector<ParkedFetch> orphaned = parked_.TakeTopic(topic);
  metrics_.parked_fetches.Set(static_cast<int64_t>(parked_.size()));
  for (ParkedFetch& parked : orphaned) {
    parked.done(NotFound("topic '" + topic + "' was deleted"));
  }
}

void FetchHandler::Tick() {
  // Taken first: a callback may start another fetch.
  std::vector<ParkedFetch> expired = parked_.TakeExpired(clock_.MonotonicNanos());
  metrics_.parked_fetches.Set(static_cast<int64_t>(parked_.size()));
  for (ParkedFetch& p : expired) p.done(ReadCommitted(p.request));
}

Result<FetchReply> FetchHandler::ReadCommitted(const pb::FetchRequest& request) const {
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
  if (read.batches.size() > protocol::kMaxBatchesPerMessage) {
    // Many small batches under the byte budget: the reply stops at the most
    // one message may carry, and the reader asks again from there.
    read.batches.resize(protocol::kMaxBatchesPerMessage);
    read.next_offset = read.batches.back().last_offset + 1;
  }
  reply.response.set_next_offset(read.next_offset);
  reply.batches.reserve(read.batches.size());
  for (storage::StoredBatch& batch : read.batches) reply.batches.push_back(std::move(batch.bytes));
  return reply;
}

void FetchHandler::Fetch(const pb::FetchRequest& request,
                         std::function<void(Result<FetchReply>)> done) {
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

Result<pb::ListOffsetsResponse> FetchHandler::ListOffsets(
    const pb::ListOffsetsRequest& request) const {
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

}  // namespace sprawl::broker
