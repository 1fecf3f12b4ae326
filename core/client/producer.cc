#include "core/client/producer.h"

#include <algorithm>
#include <limits>

#include "core/protocol/partitioner.h"
#include "core/storage/record_batch.h"
#include "core/util/clock.h"

namespace sprawl::client {
namespace {

int64_t Now() { return SystemClock::Instance().MonotonicNanos(); }
int64_t Nanos(std::chrono::milliseconds d) { return d.count() * 1'000'000; }

}  // namespace

Producer::Producer(Client& client, ProducerConfig config)
    : client_(client), config_(config), rng_(std::random_device{}()) {
  thread_ = std::thread([this] { Run(); });
}

Producer::~Producer() { Close(); }

uint64_t Producer::NewProducerId() {
  uint64_t id = 0;
  while (id == 0) id = rng_();
  return id;
}

void Producer::Send(const std::string& topic, std::optional<std::string_view> key,
                    std::string_view value, const Headers& headers, DeliveryCallback done,
                    std::optional<uint32_t> partition) {
  PendingRecord record;
  if (key) record.key.emplace(*key);
  record.value.assign(value);
  record.headers = headers;
  record.timestamp_ms = SystemClock::Instance().WallMillis();
  record.done = std::move(done);
  record.partition = partition;
  record.bytes = value.size() + (key ? key->size() : 0) + 16;
  for (const auto& [k, v] : headers) record.bytes += k.size() + v.size() + 4;
  const int64_t now = Now();
  record.deadline_nanos = now + Nanos(config_.delivery_timeout);

  UniqueLock lock(mu_);
  const bool has_space = space_cv_.wait_until(
      lock.native(), std::chrono::steady_clock::now() + config_.max_block, [&]() REQUIRES(mu_) {
        return closing_ || buffered_bytes_ == 0 ||
               buffered_bytes_ + record.bytes <= config_.max_buffered_bytes;
      });
  if (closing_ || !has_space) {
    const bool closing = closing_;  // read under the lock, not after it
    lock.unlock();
    record.done(closing ? Status(ErrorCode::kClosed, "the producer is closed")
                        : ResourceExhausted("the producer's buffer is full (" +
                                            std::to_string(config_.max_buffered_bytes) +
                                            " bytes) and stayed full for max_block_ms (" +
                                            std::to_string(config_.max_block.count()) +
                                            " ms); the server is not keeping up"));
    return;
  }
  buffered_bytes_ += record.bytes;
  ++sent_records_;
  TopicState& state = topics_[topic];
  if (state.partitions == 0) {
    state.unassigned.push_back(std::move(record));
  } else {
    Assign(state, std::move(record), now);
  }
  cv_.notify_one();
}

Result<PublishAck> Producer::SendSync(const std::string& topic, std::optional<std::string_view> key,
                                      std::string_view value, const Headers& headers,
                                      std::optional<uint32_t> partition) {
  auto promise = std::make_shared<std::promise<Result<PublishAck>>>();
  auto future = promise->get_future();
  Send(
      topic, key, value, headers,
      [promise](Result<PublishAck> ack) { promise->set_value(std::move(ack)); }, partition);
  {
    MutexLock lock(mu_);
    flush_requested_ = true;  // do not linger for a caller who waits
  }
  cv_.notify_one();
  return future.get();
}

void Producer::Assign(TopicState& topic, PendingRecord record, int64_t now) {
  uint32_t p;
  if (record.partition) {
    // An unknown partition is failed by the sender, outside the lock.
    p = *record.partition;
  } else if (record.key && !record.key->empty()) {
    p = protocol::PartitionForKey(*record.key, topic.partitions);
  } else {
    p = topic.sticky;
  }
  PartitionState& part = topic.parts[p];
  if (part.producer_id == 0 && config_.idempotent) part.producer_id = NewProducerId();
  if (part.records.empty()) part.opened_nanos = now;
  part.bytes += record.bytes;
  part.records.push_back(std::move(record));
}

bool Producer::Ready(const PartitionState& p, int64_t now) const {
  if (p.in_flight) return !p.in_flight->sent && p.in_flight->retry_at_nanos <= now;
  if (p.records.empty()) return false;
  return p.bytes >= config_.batch_bytes || now - p.opened_nanos >= Nanos(config_.linger) ||
         flush_requested_ || closing_;
}

int64_t Producer::NextWakeNanos(int64_t now) const {
  int64_t next = std::numeric_limits<int64_t>::max();
  for (const auto& [name, topic] : topics_) {
    for (const auto& [id, p] : topic.parts) {
      if (p.in_flight) {
        if (!p.in_flight->sent) next = std::min(next, p.in_flight->retry_at_nanos);
      } else if (!p.records.empty()) {
        next = std::min(next, p.opened_nanos + Nanos(config_.linger));
      }
    }
  }
  return next;
}

void Producer::SealBatch(PartitionState& p) {
  storage::RecordBatchBuilder builder(config_.compression,
                                      storage::ProducerStamp{p.producer_id, p.next_sequence});
  InFlight batch;
  batch.deadline_nanos = std::numeric_limits<int64_t>::max();
  size_t bytes = 0;
  while (!p.records.empty() && (batch.callbacks.empty() || bytes < config_.batch_bytes)) {
    PendingRecord& r = p.records.front();
    storage::RecordInput input;
    if (r.key) input.key = *r.key;
    input.value = r.value;
    input.timestamp_ms = r.timestamp_ms;
    for (const auto& [k, v] : r.headers) input.headers.push_back({k, v});
    builder.Add(input);
    bytes += r.bytes;
    batch.deadline_nanos = std::min(batch.deadline_nanos, r.deadline_nanos);
    batch.callbacks.push_back(std::move(r.done));
    p.records.pop_front();
  }
  p.bytes -= bytes;
  batch.record_bytes = bytes;
  auto built = builder.Build();
  if (built.ok()) {
    batch.bytes = std::move(*built);
    if (config_.idempotent) p.next_sequence += static_cast<uint32_t>(batch.callbacks.size());
  } else {
    // Marked failed: sent as nothing, completed with this error by the sender.
    batch.attempts = -1;
    batch.bytes = built.status().message();
  }
  p.opened_nanos = Now();
  p.in_flight = std::move(batch);
}

void Producer::ResolveMetadata() {
  std::vector<std::string> unresolved;
  for (const auto& [name, topic] : topics_) {
    if (topic.partitions == 0 && !topic.unassigned.empty()) unresolved.push_back(name);
  }
  for (const std::string& name : unresolved) {
    Result<pb::TopicDescription> described = pb::TopicDescription();
    {
      MutexUnlock unlocked(mu_);  // a round trip to the node
      described = client_.DescribeTopic(name);
    }
    TopicState& topic = topics_[name];
    if (described.ok() && described->partitions_size() > 0) {
      topic.partitions = static_cast<uint32_t>(described->partitions_size());
      const int64_t now = Now();
      auto pending = std::move(topic.unassigned);
      topic.unassigned.clear();
      for (auto& r : pending) Assign(topic, std::move(r), now);
      continue;
    }
    const Status error = described.ok() ? InvalidArgument("topic '" + name + "' has no partitions")
                                        : described.status();
    auto failed = std::move(topic.unassigned);
    topics_.erase(name);
    for (auto& r : failed) buffered_bytes_ -= r.bytes;
    {
      MutexUnlock unlocked(mu_);
      for (auto& r : failed) r.done(error);
    }
    // Complete only once the callbacks ran: Flush promises exactly that.
    completed_records_ += failed.size();
    space_cv_.notify_all();
  }
}

void Producer::SendReady(int64_t now) {
  struct Request {
    std::string topic;
    pb::PublishRequest body;
    std::vector<std::string> batches;
    std::vector<uint32_t> partitions;
  };
  std::vector<Request> requests;
  std::vector<std::pair<DeliveryCallback, Status>> failures;
  for (auto& [name, topic] : topics_) {
    Request request;
    request.topic = name;
    request.body.set_topic(name);
    request.body.set_acks(config_.acks);
    for (auto& [id, part] : topic.parts) {
      if (!Ready(part, now)) continue;
      if (!part.in_flight) {
        SealBatch(part);
        if (id == topic.sticky && topic.partitions > 0) {
          topic.sticky = static_cast<uint32_t>(rng_() % topic.partitions);
        }
      }
      InFlight& batch = *part.in_flight;
      if (batch.attempts < 0 || id >= topic.partitions || now >= batch.deadline_nanos) {
        const Status why =
            batch.attempts < 0 ? InvalidArgument(batch.bytes)
            : id >= topic.partitions
                ? NotFound("topic '" + name + "' has no partition " + std::to_string(id))
                : Status(ErrorCode::kTimeout,
                         "the record was not acknowledged within the "
                         "delivery timeout");
        for (auto& cb : batch.callbacks) failures.emplace_back(std::move(cb), why);
        buffered_bytes_ -= batch.record_bytes;
        part.in_flight.reset();
        continue;
      }
      batch.sent = true;
      ++batch.attempts;
      request.body.add_batches()->set_partition(id);
      request.batches.push_back(batch.bytes);
      request.partitions.push_back(id);
    }
    if (!request.partitions.empty()) requests.push_back(std::move(request));
  }
  requests_in_flight_ += requests.size();
  MutexUnlock unlocked(mu_);  // callbacks and sends run without the lock
  for (auto& [cb, why] : failures) cb(why);
  if (!failures.empty()) {
    // Complete only once the callbacks ran: Flush promises exactly that.
    MutexLock relock(mu_);
    completed_records_ += failures.size();
    space_cv_.notify_all();
  }
  for (Request& r : requests) {
    if (config_.acks == pb::ACK_NONE) {
      client_.connection().Send(static_cast<uint16_t>(protocol::MessageType::kPublish),
                                r.body.SerializeAsString(), std::move(r.batches));
      transport::Reply none;
      pb::PublishResponse empty;
      for (size_t i = 0; i < r.partitions.size(); ++i) empty.add_results();
      none.header.flags = transport::kFlagResponse;
      none.body = empty.SerializeAsString();
      OnReply(r.topic, std::move(r.partitions), std::move(none));
      continue;
    }
    client_.connection().CallAsync(
        static_cast<uint16_t>(protocol::MessageType::kPublish), r.body.SerializeAsString(),
        std::move(r.batches),
        [this, topic = r.topic, partitions = r.partitions](Result<transport::Reply> reply) {
          OnReply(topic, partitions, std::move(reply));
        });
  }
}

void Producer::OnReply(const std::string& topic_name, std::vector<uint32_t> partitions,
                       Result<transport::Reply> reply) {
  std::vector<std::pair<DeliveryCallback, Result<PublishAck>>> done;
  Status request_error = reply.ok() ? reply->status() : reply.status();
  pb::PublishResponse response;
  if (request_error.ok() && !response.ParseFromString(reply->body)) {
    request_error = DataCorruption("the publish reply does not decode");
  }
  if (request_error.ok() && response.results_size() != static_cast<int>(partitions.size())) {
    request_error =
        DataCorruption("the publish reply has " + std::to_string(response.results_size()) +
                       " results for " + std::to_string(partitions.size()) + " batches");
  }
  {
    MutexLock lock(mu_);
    const int64_t now = Now();
    auto topic_it = topics_.find(topic_name);
    for (size_t i = 0; i < partitions.size(); ++i) {
      if (topic_it == topics_.end()) break;
      PartitionState& part = topic_it->second.parts[partitions[i]];
      if (!part.in_flight) continue;
      InFlight& batch = *part.in_flight;
      Status error = request_error;
      uint32_t retry_after_ms = 0;
      const pb::PublishResult* result = nullptr;
      if (error.ok()) {
        result = &response.results(static_cast<int>(i));
        if (result->has_error()) {
          error = transport::StatusFromError(result->error());
          retry_after_ms = result->error().retry_after_ms();
        }
      }
      if (!error.ok() && error.retriable() && !stopped_ && now < batch.deadline_nanos) {
        // Resend the same bytes (same sequence): stored once whatever happened.
        const int64_t backoff =
            std::min(Nanos(config_.retry_backoff) << std::min(batch.attempts, 16),
                     Nanos(config_.max_retry_backoff));
        batch.sent = false;
        batch.retry_at_nanos =
            now + std::max<int64_t>(backoff, int64_t{retry_after_ms} * 1'000'000);
        continue;
      }
      for (size_t j = 0; j < batch.callbacks.size(); ++j) {
        if (!error.ok()) {
          done.emplace_back(std::move(batch.callbacks[j]), error);
          continue;
        }
        PublishAck ack;
        ack.topic = topic_name;
        ack.partition = partitions[i];
        ack.offset = result->base_offset() + j;
        ack.duplicate = result->duplicate();
        done.emplace_back(std::move(batch.callbacks[j]), std::move(ack));
      }
      if (!error.ok() && config_.idempotent) {
        // The sequence now has a hole the server would refuse: start afresh.
        part.producer_id = NewProducerId();
        part.next_sequence = 0;
      }
      buffered_bytes_ -= batch.record_bytes;
      part.in_flight.reset();
    }
  }
  for (auto& [cb, result] : done) cb(result);
  // Notified under the lock: once it is released, Close may return and the
  // producer be destroyed, so nothing of it may be touched after. Records
  // count as complete only now that their callbacks ran (Flush waits for that).
  MutexLock lock(mu_);
  completed_records_ += done.size();
  --requests_in_flight_;
  space_cv_.notify_all();
  cv_.notify_one();
}

void Producer::Run() {
  UniqueLock lock(mu_);
  while (!stopped_) {
    ResolveMetadata();
    SendReady(Now());
    if (flush_requested_ && completed_records_ == sent_records_) flush_requested_ = false;
    const int64_t wake = NextWakeNanos(Now());
    bool work_pending = false;
    for (const auto& [name, topic] : topics_) {
      if (topic.partitions == 0 && !topic.unassigned.empty()) work_pending = true;
      for (const auto& [id, p] : topic.parts) {
        if (Ready(p, Now())) work_pending = true;
      }
    }
    if (work_pending) continue;
    // SendReady let go of the lock: Close may have asked to stop meanwhile,
    // and its notification is gone.
    if (stopped_) break;
    if (wake == std::numeric_limits<int64_t>::max()) {
      cv_.wait(lock.native());
    } else {
      cv_.wait_for(lock.native(), std::chrono::nanoseconds(std::max<int64_t>(0, wake - Now())));
    }
  }
}

Status Producer::Flush(std::chrono::milliseconds timeout) {
  UniqueLock lock(mu_);
  const uint64_t target = sent_records_;
  flush_requested_ = true;
  cv_.notify_one();
  const bool done = space_cv_.wait_for(
      lock.native(), timeout, [&]() REQUIRES(mu_) { return completed_records_ >= target; });
  if (!done) {
    return Status(ErrorCode::kTimeout,
                  std::to_string(target - completed_records_) +
                      " records were not acknowledged within the flush timeout");
  }
  return Status::Ok();
}

void Producer::Close(std::chrono::milliseconds grace) {
  {
    UniqueLock lock(mu_);
    if (stopped_) return;
    closing_ = true;
    cv_.notify_one();
    space_cv_.wait_for(lock.native(), grace,
                       [&]() REQUIRES(mu_) { return completed_records_ >= sent_records_; });
    stopped_ = true;
    cv_.notify_one();
  }
  thread_.join();
  {
    // Replies still due call back into this producer: wait for them (the
    // connection times every request out, so this ends).
    UniqueLock lock(mu_);
    space_cv_.wait(lock.native(), [&]() REQUIRES(mu_) { return requests_in_flight_ == 0; });
  }
  // Whatever is left never reached the server or got no reply in time.
  std::vector<DeliveryCallback> left;
  {
    MutexLock lock(mu_);
    for (auto& [name, topic] : topics_) {
      for (auto& r : topic.unassigned) left.push_back(std::move(r.done));
      for (auto& [id, p] : topic.parts) {
        for (auto& r : p.records) left.push_back(std::move(r.done));
        if (p.in_flight) {
          for (auto& cb : p.in_flight->callbacks) left.push_back(std::move(cb));
        }
      }
    }
    topics_.clear();
  }
  for (auto& cb : left) {
    if (cb)
      cb(Status(ErrorCode::kClosed, "the producer was closed before the record was acknowledged"));
  }
}

}  // namespace sprawl::client
