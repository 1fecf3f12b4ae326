#include "core/client/producer.h"

#include <algorithm>
#include <limits>

#include "core/protocol/partitioner.h"
#include "core/storage/batch_format.h"
#include "core/storage/producer_identity.h"
#include "core/util/clock.h"

namespace sprawl::client {
namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr int64_t kLeaderMovingBackoff = 100'000'000;  // ns

int64_t Now() { return SystemClock::Instance().MonotonicNanos(); }
int64_t Nanos(std::chrono::milliseconds d) { return d.count() * 1'000'000; }

// What a record counts against the buffer limit.
size_t RecordBytes(std::optional<std::string_view> key, std::string_view value,
                   const Headers& headers) {
  size_t bytes = value.size() + (key ? key->size() : 0) + 16;
  for (const auto& [k, v] : headers) bytes += k.size() + v.size() + 4;
  return bytes;
}

Status ClosedBeforeAck() {
  return Status(ErrorCode::kClosed, "the producer was closed before the record was acknowledged");
}

}  // namespace

Producer::Producer(Client& client, ProducerConfig config)
    : client_(client), config_(std::move(config)), rng_(std::random_device{}()) {
  thread_ = std::thread([this] { Run(); });
}

Producer::~Producer() { Close(); }

uint64_t Producer::NewProducerId() {
  if (Named()) {
    ++session_;
    return storage::NamedProducerFamily(config_.name) | session_;
  }
  return storage::AnonymousProducerId(rng_());
}

void Producer::ResolveEpoch() {
  if (!AwaitsEpoch() || Now() < epoch_retry_at_) return;
  Result<pb::InitProducerResponse> init = pb::InitProducerResponse();
  {
    MutexUnlock unlocked(mu_);  // a round trip through the cluster's metadata
    init = client_.InitProducer(config_.name);
  }
  if (init.ok() && init->epoch() > 0 && init->epoch() <= UINT16_MAX) {
    epoch_ = static_cast<uint16_t>(init->epoch());
  } else if (init.ok()) {
    fatal_ = DataCorruption("the cluster gave producer '" + config_.name + "' epoch " +
                            std::to_string(init->epoch()));
  } else if (init.status().retriable()) {
    epoch_retry_at_ = Now() + Nanos(config_.max_retry_backoff);
  } else {
    fatal_ = init.status();
  }
}

void Producer::Send(const std::string& topic, std::optional<std::string_view> key,
                    std::string_view value, const Headers& headers, DeliveryCallback done,
                    std::optional<uint32_t> partition) {
  SendImpl(topic, key, value, headers, std::move(done), partition,
           /*urgent=*/config_.linger.count() <= 0);
}

Result<PublishAck> Producer::SendSync(const std::string& topic, std::optional<std::string_view> key,
                                      std::string_view value, const Headers& headers,
                                      std::optional<uint32_t> partition) {
  auto promise = std::make_shared<std::promise<Result<PublishAck>>>();
  auto future = promise->get_future();
  SendImpl(
      topic, key, value, headers,
      [promise](Result<PublishAck> ack) { promise->set_value(std::move(ack)); }, partition,
      /*urgent=*/true);
  return future.get();
}

void Producer::SendImpl(const std::string& topic, std::optional<std::string_view> key,
                        std::string_view value, const Headers& headers, DeliveryCallback done,
                        std::optional<uint32_t> partition, bool urgent) {
  const size_t bytes = RecordBytes(key, value, headers);
  const int64_t timestamp_ms = SystemClock::Instance().WallMillis();
  Status refused;
  Outgoing direct;
  bool send_direct = false;
  std::vector<Completion> failed;
  {
    UniqueLock lock(mu_);
    auto has_space = [&]() REQUIRES(mu_) {
      return closing_ || buffered_bytes_ == 0 ||
             buffered_bytes_ + bytes <= config_.max_buffered_bytes;
    };
    // The deadline is computed only when there is a wait: the common case
    // reads no clock here.
    if (!has_space()) space_cv_.wait_for(lock.native(), config_.max_block, has_space);
    if (closing_) {
      refused = Status(ErrorCode::kClosed, "the producer is closed");
    } else if (!fatal_.ok()) {
      refused = fatal_;
    } else if (!has_space()) {
      refused = ResourceExhausted(
          "the producer's buffer is full (" + std::to_string(config_.max_buffered_bytes) +
          " bytes) and stayed full for max_block_ms (" + std::to_string(config_.max_block.count()) +
          " ms); the server is not keeping up");
    } else {
      TopicState& state = FindTopic(topic);
      if (state.partitions == 0) {
        PendingRecord record;
        if (key) record.key.emplace(*key);
        record.value.assign(value);
        record.headers = headers;
        record.timestamp_ms = timestamp_ms;
        record.done = std::move(done);
        record.partition = partition;
        record.bytes = bytes;
        record.urgent = urgent;
        state.unassigned.push_back(std::move(record));
        buffered_bytes_ += bytes;
        ++sent_records_;
        WakeSender(0);  // the sender looks the topic up
      } else {
        uint32_t id = 0;
        if (!Append(state, key, value, headers, timestamp_ms, done, partition, bytes, &id)) {
          refused =
              NotFound("topic '" + topic + "' has no partition " + std::to_string(*partition));
        } else {
          buffered_bytes_ += bytes;
          ++sent_records_;
          PartitionState& part = state.parts[id];
          if (urgent && !part.in_flight && !AwaitsEpoch()) {
            // Nothing to wait for: send from this thread, sparing a hop
            // through the sender thread.
            CloseOpenBatch(state, id);
            direct.topic = topic;
            if (Launch(topic, id, part, Now(), direct, failed)) {
              send_direct = true;
              ++requests_in_flight_;
            }
          } else if (urgent) {
            part.urgent = true;  // sent as soon as the batch in flight is answered
          } else if (!part.in_flight && (!part.open || part.batches.size() > 1)) {
            WakeSender(0);  // a full batch can go now
          } else if (part.open && part.batches.back().records == 1) {
            // A new batch starts lingering: wake the sender only if it would
            // otherwise sleep past the batch's linger.
            WakeSender(part.batches.back().opened_nanos + Nanos(config_.linger));
          }
        }
      }
    }
  }
  if (!refused.ok()) {
    if (done) done(refused);
    return;
  }
  if (!failed.empty()) Complete(failed, /*request_finished=*/false);
  if (send_direct) Transmit(std::move(direct));
}

void Producer::WakeSender(int64_t due_nanos) {
  if (sender_sleeps_until_ == 0 || due_nanos >= sender_sleeps_until_) return;
  sender_sleeps_until_ = 0;  // one notification is enough until it runs again
  cv_.notify_one();
}

Producer::TopicState& Producer::FindTopic(const std::string& name) {
  if (last_topic_ != nullptr && *last_topic_name_ == name) return *last_topic_;
  auto it = topics_.find(name);
  if (it == topics_.end()) it = topics_.emplace(name, TopicState()).first;
  last_topic_ = &it->second;
  last_topic_name_ = &it->first;
  return it->second;
}

bool Producer::Append(TopicState& topic, std::optional<std::string_view> key,
                      std::string_view value, const Headers& headers, int64_t timestamp_ms,
                      DeliveryCallback& done, std::optional<uint32_t> partition, size_t bytes,
                      uint32_t* chosen) {
  uint32_t id;
  if (partition) {
    if (*partition >= topic.partitions) return false;
    id = *partition;
  } else if (key && !key->empty()) {
    id = protocol::PartitionForKey(*key, topic.partitions);
  } else {
    id = topic.sticky;
  }
  PartitionState& part = topic.parts[id];
  if (part.open) {
    const Batch& open = part.batches.back();
    // A batch stays within batch_bytes unless one record alone exceeds it.
    if (open.record_bytes + bytes > config_.batch_bytes ||
        open.records >= storage::batch_format::kMaxRecordsPerBatch) {
      CloseOpenBatch(topic, id);
    }
  }
  if (!part.open) {
    Batch& opened = part.batches.emplace_back(config_.compression);
    // Sized like the partition's last batch, the buffer grows once per batch.
    opened.builder.Reserve(part.last_batch_bytes);
    // The one monotonic clock read of a batch: its first record's delivery
    // deadline is the batch's (later records' deadlines are later).
    opened.opened_nanos = Now();
    opened.deadline_nanos = opened.opened_nanos + Nanos(config_.delivery_timeout);
    part.open = true;
  }
  Batch& batch = part.batches.back();
  batch.builder.Add(key, value, headers, timestamp_ms);
  if (done) batch.callbacks.emplace_back(batch.records, std::move(done));
  ++batch.records;
  batch.record_bytes += bytes;
  if (batch.record_bytes >= config_.batch_bytes) CloseOpenBatch(topic, id);
  *chosen = id;
  return true;
}

void Producer::CloseOpenBatch(TopicState& topic, uint32_t id) {
  PartitionState& part = topic.parts[id];
  if (!part.open) return;
  part.open = false;
  part.urgent = false;  // the closed batch is sent without lingering anyway
  part.last_batch_bytes = part.batches.back().builder.payload_bytes();
  if (id == topic.sticky && topic.partitions > 1) {
    topic.sticky = static_cast<uint32_t>(rng_() % topic.partitions);
  }
}

bool Producer::Ready(const PartitionState& p, int64_t now) const {
  if (AwaitsEpoch()) {
    // Only to fail a batch whose delivery deadline passed meanwhile.
    return !p.in_flight && !p.batches.empty() && now >= p.batches.front().deadline_nanos;
  }
  if (p.in_flight) {
    const Batch& front = p.batches.front();
    return !front.sent && front.retry_at_nanos <= now;
  }
  if (p.batches.empty()) return false;
  if (!p.open || p.batches.size() > 1) return true;  // a closed batch waits its turn
  return p.urgent || flush_requested_ || closing_ ||
         now - p.batches.front().opened_nanos >= Nanos(config_.linger);
}

int64_t Producer::NextWakeNanos(int64_t now) const {
  int64_t next = kNever;
  if (AwaitsEpoch()) {
    next = std::max(now, epoch_retry_at_);
    for (const auto& [name, topic] : topics_) {
      for (const PartitionState& p : topic.parts) {
        if (!p.batches.empty()) next = std::min(next, p.batches.front().deadline_nanos);
      }
    }
    return next;
  }
  for (const auto& [name, topic] : topics_) {
    for (const PartitionState& p : topic.parts) {
      if (p.in_flight) {
        if (!p.batches.front().sent) next = std::min(next, p.batches.front().retry_at_nanos);
      } else if (!p.batches.empty()) {
        next = std::min(
            next, Ready(p, now) ? now : p.batches.front().opened_nanos + Nanos(config_.linger));
      }
    }
  }
  return next;
}

bool Producer::Launch(const std::string& name, uint32_t id, PartitionState& part, int64_t now,
                      Outgoing& request, std::vector<Completion>& failed) {
  Batch& batch = part.batches.front();
  Status why = fatal_;
  if (why.ok() && AwaitsEpoch()) {
    why = Status(ErrorCode::kTimeout, "producer '" + config_.name +
                                          "' got no epoch from the cluster within the "
                                          "delivery timeout");
  }
  if (why.ok() && !batch.built) {
    if (config_.idempotent && part.producer_id == 0) part.producer_id = NewProducerId();
    // The sequence is fixed only now: a failure before resets it, and the
    // batches behind start from the new one.
    batch.builder.set_producer(
        config_.idempotent ? storage::ProducerStamp{part.producer_id, part.next_sequence, epoch_}
                           : storage::ProducerStamp{});
    auto built = batch.builder.Build();
    if (built.ok()) {
      batch.bytes = std::move(*built);
      batch.built = true;
      if (config_.idempotent) part.next_sequence += batch.records;
    } else {
      why = InvalidArgument(built.status().message());
    }
  }
  if (why.ok() && now >= batch.deadline_nanos) {
    why =
        Status(ErrorCode::kTimeout, "the record was not acknowledged within the delivery timeout");
  }
  if (!why.ok()) {
    buffered_bytes_ -= batch.record_bytes;
    failed.push_back(Completion{name, id, std::move(batch), why});
    part.batches.pop_front();
    part.in_flight = false;
    return false;
  }
  batch.sent = true;
  ++batch.attempts;
  part.in_flight = true;
  request.body.add_batches()->set_partition(id);
  // Without acks nothing is retried: the bytes move to the connection.
  request.batches.push_back(config_.acks == pb::ACK_NONE ? std::move(batch.bytes) : batch.bytes);
  request.partitions.push_back(id);
  return true;
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
    TopicState& topic = FindTopic(name);
    std::vector<Completion> failed;
    if (described.ok() && described->partitions_size() > 0) {
      topic.partitions = static_cast<uint32_t>(described->partitions_size());
      topic.parts.resize(topic.partitions);
      auto pending = std::move(topic.unassigned);
      topic.unassigned.clear();
      for (PendingRecord& r : pending) {
        uint32_t id = 0;
        if (Append(topic, r.key, r.value, r.headers, r.timestamp_ms, r.done, r.partition, r.bytes,
                   &id)) {
          if (r.urgent && topic.parts[id].open) topic.parts[id].urgent = true;
          continue;
        }
        buffered_bytes_ -= r.bytes;
        Batch alone(config_.compression);
        if (r.done) alone.callbacks.emplace_back(0, std::move(r.done));
        alone.records = 1;
        failed.push_back(Completion{
            name, *r.partition, std::move(alone),
            NotFound("topic '" + name + "' has no partition " + std::to_string(*r.partition))});
      }
    } else {
      const Status error = described.ok()
                               ? InvalidArgument("topic '" + name + "' has no partitions")
                               : described.status();
      for (PendingRecord& r : topic.unassigned) {
        buffered_bytes_ -= r.bytes;
        Batch alone(config_.compression);
        if (r.done) alone.callbacks.emplace_back(0, std::move(r.done));
        alone.records = 1;
        failed.push_back(Completion{name, r.partition.value_or(0), std::move(alone), error});
      }
      last_topic_ = nullptr;
      topics_.erase(topics_.find(name));
    }
    if (!failed.empty()) {
      MutexUnlock unlocked(mu_);
      Complete(failed, /*request_finished=*/false);
    }
  }
}

void Producer::SendReady(int64_t now) {
  std::vector<Outgoing> requests;
  std::vector<Completion> failed;
  for (auto& [name, topic] : topics_) {
    Outgoing request;
    for (uint32_t id = 0; id < topic.parts.size(); ++id) {
      PartitionState& part = topic.parts[id];
      if (!Ready(part, now)) continue;
      if (!part.in_flight && part.open && part.batches.size() == 1) CloseOpenBatch(topic, id);
      Launch(name, id, part, now, request, failed);
    }
    if (!request.partitions.empty()) {
      request.topic = name;
      requests.push_back(std::move(request));
    }
  }
  requests_in_flight_ += requests.size();
  MutexUnlock unlocked(mu_);  // callbacks and sends run without the lock
  if (!failed.empty()) Complete(failed, /*request_finished=*/false);
  for (Outgoing& r : requests) Transmit(std::move(r));
}

void Producer::Transmit(Outgoing request) {
  request.body.set_topic(request.topic);
  request.body.set_acks(config_.acks);
  std::string body = request.body.SerializeAsString();
  const auto type = static_cast<uint16_t>(protocol::MessageType::kPublish);
  if (config_.acks == pb::ACK_NONE) {
    client_.connection().Send(type, std::move(body), std::move(request.batches));
    transport::Reply none;
    pb::PublishResponse empty;
    for (size_t i = 0; i < request.partitions.size(); ++i) empty.add_results();
    none.header.flags = transport::kFlagResponse;
    none.body = empty.SerializeAsString();
    OnReply(request.topic, std::move(request.partitions), std::move(none));
    return;
  }
  client_.connection().CallAsync(
      type, std::move(body), std::move(request.batches),
      [this, topic = std::move(request.topic),
       partitions = std::move(request.partitions)](Result<transport::Reply> reply) mutable {
        OnReply(topic, std::move(partitions), std::move(reply));
      });
}

void Producer::OnReply(const std::string& topic_name, std::vector<uint32_t> partitions,
                       Result<transport::Reply> reply) {
  std::vector<Completion> done;
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
      TopicState& topic = topic_it->second;
      if (partitions[i] >= topic.parts.size()) continue;
      PartitionState& part = topic.parts[partitions[i]];
      if (!part.in_flight) continue;
      Batch& batch = part.batches.front();
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
        // A partition whose leader is gone or unknown is electing one, which
        // takes a few hundred milliseconds: its retries stay 100 ms apart at
        // most, or the backoff alone would add up to max_retry_backoff to
        // every failover.
        const bool leader_moving =
            error.code() == ErrorCode::kNotLeader || error.code() == ErrorCode::kIoError;
        const int64_t cap = leader_moving
                                ? std::min(Nanos(config_.max_retry_backoff), kLeaderMovingBackoff)
                                : Nanos(config_.max_retry_backoff);
        const int64_t backoff =
            std::min(Nanos(config_.retry_backoff) << std::min(batch.attempts, 16), cap);
        batch.sent = false;
        batch.retry_at_nanos =
            now + std::max<int64_t>(backoff, int64_t{retry_after_ms} * 1'000'000);
        continue;
      }
      if (error.code() == ErrorCode::kProducerFenced && fatal_.ok()) {
        // Another instance under this name started: nothing more goes out.
        fatal_ = error;
      }
      if (!error.ok() && config_.idempotent) {
        // The sequence now has a hole the server would refuse: start afresh.
        part.producer_id = NewProducerId();
        part.next_sequence = 0;
      }
      buffered_bytes_ -= batch.record_bytes;
      Completion completion{topic_name, partitions[i], std::move(batch), error};
      if (error.ok()) {
        completion.base_offset = result->base_offset();
        completion.duplicate = result->duplicate();
      }
      done.push_back(std::move(completion));
      part.batches.pop_front();
      part.in_flight = false;
    }
  }
  Complete(done, /*request_finished=*/true);
}

void Producer::Complete(std::vector<Completion>& done, bool request_finished) {
  uint64_t records = 0;
  for (Completion& c : done) {
    records += c.batch.records;
    for (auto& [index, callback] : c.batch.callbacks) {
      if (!c.status.ok()) {
        callback(c.status);
        continue;
      }
      PublishAck ack;
      ack.topic = c.topic;
      ack.partition = c.partition;
      ack.offset = c.base_offset + index;
      ack.duplicate = c.duplicate;
      callback(std::move(ack));
    }
    if (config_.on_batch) {
      config_.on_batch(BatchOutcome{c.topic, c.partition, c.batch.records, c.base_offset,
                                    c.duplicate, c.status});
    }
  }
  done.clear();  // the batches' buffers go before Close may return
  // Notified under the lock: once it is released, Close may return and the
  // producer be destroyed, so nothing of it may be touched after. Records
  // count as complete only now that their callbacks ran (Flush waits for that).
  MutexLock lock(mu_);
  completed_records_ += records;
  if (request_finished) --requests_in_flight_;
  space_cv_.notify_all();
  // An answered batch may let the next one of its partition go.
  if (request_finished) WakeSender(0);
}

void Producer::Run() {
  UniqueLock lock(mu_);
  while (!stopped_) {
    ResolveEpoch();
    ResolveMetadata();
    SendReady(Now());
    if (flush_requested_ && completed_records_ == sent_records_) flush_requested_ = false;
    const int64_t now = Now();
    bool work_pending = false;
    for (const auto& [name, topic] : topics_) {
      if (topic.partitions == 0 && !topic.unassigned.empty()) work_pending = true;
      for (const PartitionState& p : topic.parts) {
        if (Ready(p, now)) work_pending = true;
      }
    }
    if (work_pending) continue;
    // SendReady let go of the lock: Close may have asked to stop meanwhile,
    // and its notification is gone.
    if (stopped_) break;
    const int64_t wake = NextWakeNanos(now);
    // From here until it wakes, a Send that needs the sender sooner notifies.
    sender_sleeps_until_ = wake;
    if (wake == kNever) {
      cv_.wait(lock.native());
    } else {
      cv_.wait_for(lock.native(), std::chrono::nanoseconds(std::max<int64_t>(0, wake - Now())));
    }
    sender_sleeps_until_ = 0;
  }
}

Status Producer::Flush(std::chrono::milliseconds timeout) {
  UniqueLock lock(mu_);
  const uint64_t target = sent_records_;
  flush_requested_ = true;
  WakeSender(0);
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
    WakeSender(0);
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
  std::vector<Completion> left;
  {
    MutexLock lock(mu_);
    for (auto& [name, topic] : topics_) {
      for (PendingRecord& r : topic.unassigned) {
        Batch alone(config_.compression);
        if (r.done) alone.callbacks.emplace_back(0, std::move(r.done));
        alone.records = 1;
        left.push_back(
            Completion{name, r.partition.value_or(0), std::move(alone), ClosedBeforeAck()});
      }
      for (uint32_t id = 0; id < topic.parts.size(); ++id) {
        for (Batch& batch : topic.parts[id].batches) {
          left.push_back(Completion{name, id, std::move(batch), ClosedBeforeAck()});
        }
      }
    }
    topics_.clear();
    last_topic_ = nullptr;
  }
  Complete(left, /*request_finished=*/false);
}

}  // namespace sprawl::client
