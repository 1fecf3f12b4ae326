#include "core/client/group_consumer.h"

#include <algorithm>
#include <future>
#include <unordered_set>

#include <google/protobuf/arena.h>

#include "core/storage/record_batch.h"
#include "core/util/logging.h"

namespace {
// How soon a join answered NOT_LEADER without a hint is sent again.
constexpr std::chrono::milliseconds kJoinRetryInterval{100};
}  // namespace

namespace sprawl::client {

using protocol::MessageType;

GroupConsumer::GroupConsumer(Client& client, GroupConsumerConfig config)
    : client_(client), config_(std::move(config)) {}

Result<std::unique_ptr<GroupConsumer>> GroupConsumer::Join(Client& client,
                                                           GroupConsumerConfig config) {
  std::unique_ptr<GroupConsumer> consumer(new GroupConsumer(client, std::move(config)));
  GroupConsumer* raw = consumer.get();
  client.RoutePushes(
      consumer->config_.topic, consumer->config_.group,
      [raw](transport::Reply& push, pb::DeliverPush& deliver) { raw->OnPush(push, deliver); });
  Status joined = consumer->JoinNow();
  if (!joined.ok()) {
    client.RoutePushes(consumer->config_.topic, consumer->config_.group, nullptr);
    return joined;
  }
  consumer->thread_ = std::thread([raw] { raw->Run(); });
  return consumer;
}

GroupConsumer::~GroupConsumer() {
  // A destructor cannot return the outcome; Close() is the way to see it.
  const Status closed = Close();
  if (!closed.ok()) {
    log::Warn("group consumer closed with an error",
              {{"topic", config_.topic}, {"group", config_.group}, {"error", closed.ToString()}});
  }
}

Status GroupConsumer::JoinNow() {
  pb::JoinGroupRequest request;
  request.set_topic(config_.topic);
  request.set_group(config_.group);
  {
    MutexLock lock(mu_);
    request.set_member_id(member_id_);
  }
  request.set_session_timeout_ms(static_cast<uint32_t>(config_.session_timeout.count()));
  request.set_max_in_flight(config_.max_in_flight);
  request.set_max_in_flight_bytes(config_.max_in_flight_bytes);
  request.set_client_name(config_.client_name);
  request.set_start(config_.start_latest ? pb::OFFSET_LATEST : pb::OFFSET_EARLIEST);
  // A replicated topic's group is coordinated by one node, which the
  // connection finds by following NOT_LEADER hints; one without a hint (a
  // coordinator elected a moment ago) is asked again shortly.
  const auto deadline = std::chrono::steady_clock::now() + client_.config().request_timeout;
  Status status = JoinOnce(request);
  while (status.code() == ErrorCode::kNotLeader && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(kJoinRetryInterval);
    status = JoinOnce(request);
  }
  return status;
}

Status GroupConsumer::JoinOnce(const pb::JoinGroupRequest& request) {
  // The member id is set on the I/O thread as the reply arrives, before the
  // deliveries that follow it are handled there.
  auto outcome = std::make_shared<std::promise<Status>>();
  auto done = outcome->get_future();
  client_.connection().CallAsync(
      static_cast<uint16_t>(MessageType::kJoinGroup), request.SerializeAsString(), {},
      [this, outcome](Result<transport::Reply> reply) {
        Status status = reply.ok() ? reply->status() : reply.status();
        pb::JoinGroupResponse joined;
        if (status.ok() && !joined.ParseFromString(reply->body)) {
          status = DataCorruption("the join reply does not decode");
        }
        if (status.ok()) {
          MutexLock lock(mu_);
          member_id_ = joined.member_id();
          partitions_.assign(joined.partitions().begin(), joined.partitions().end());
        }
        outcome->set_value(status);
      },
      client_.config().request_timeout);
  return done.get();
}

namespace {

// The bytes of one push, shared by the messages decoded from it.
struct PushBytes {
  std::string topic;
  std::vector<std::string> batches;
  // Own the decompressed payloads of compressed batches, which the views
  // then point into (a move keeps them in place).
  std::vector<storage::RecordIterator> records;
};

}  // namespace

void GroupConsumer::OnPush(transport::Reply& push, pb::DeliverPush& deliver) {
  // (offset, delivery count), ascending: the server sends them in order, so
  // the sort is a check; a batch's records then find theirs by search.
  std::vector<std::pair<uint64_t, uint32_t>> counts;
  counts.reserve(deliver.deliveries_size());
  for (const pb::Delivery& d : deliver.deliveries()) {
    counts.emplace_back(d.offset(), d.delivery_count());
  }
  if (!std::is_sorted(counts.begin(), counts.end())) std::sort(counts.begin(), counts.end());
  // The messages view the push's own bytes: taken, not copied.
  auto bytes = std::make_shared<PushBytes>();
  bytes->topic = std::move(*deliver.mutable_topic());
  bytes->batches = std::move(push.batches);
  bytes->records.reserve(bytes->batches.size());
  const std::shared_ptr<const void> owner = bytes;
  std::vector<Message> messages;
  messages.reserve(counts.size());
  for (const std::string& batch : bytes->batches) {
    auto view = storage::RecordBatchView::Parse(batch);
    if (!view.ok()) continue;  // unacked, so redelivered after the ack timeout
    auto iterator = view->Records();
    if (!iterator.ok()) continue;
    storage::RecordIterator& records = bytes->records.emplace_back(std::move(*iterator));
    storage::RecordView record;
    while (records.Next(&record)) {
      auto it = std::lower_bound(counts.begin(), counts.end(), std::make_pair(record.offset, 0u));
      if (it == counts.end() || it->first != record.offset || it->second == 0) {
        continue;  // another record of the same batch, or one already taken
      }
      Message& m = messages.emplace_back(
          MessageFromRecord(owner, bytes->topic, deliver.partition(), record));
      m.delivery_count = it->second;
      it->second = 0;  // a batch sent twice in one push yields each record once
    }
  }
  if (messages.empty()) return;
  {
    MutexLock lock(mu_);
    if (closed_ || deliver.member_id() != member_id_) return;
    // One move per push under the lock: Receive contends for it per message.
    queue_.push_back(std::move(messages));
  }
  received_cv_.notify_all();
}

Result<std::optional<Message>> GroupConsumer::Receive(std::chrono::milliseconds timeout) {
  UniqueLock lock(mu_);
  if (queue_.empty() && !closed_ && !interrupted_) {  // reading the clock only when there is a wait
    received_cv_.wait_for(lock.native(), timeout, [&]() REQUIRES(mu_) {
      return closed_ || interrupted_ || !queue_.empty();
    });
  }
  if (closed_ || interrupted_) return Status(ErrorCode::kClosed, "the consumer is closed");
  if (queue_.empty()) return std::optional<Message>();
  std::vector<Message>& front = queue_.front();
  Message m = std::move(front[queue_head_]);
  if (++queue_head_ == front.size()) {
    queue_.pop_front();
    queue_head_ = 0;
  }
  if (config_.auto_ack) QueueAck(m);
  return std::optional<Message>(std::move(m));
}

void GroupConsumer::Ack(const Message& message) {
  MutexLock lock(mu_);
  QueueAck(message);
}

void GroupConsumer::QueueAck(const Message& message) {
  acks_.emplace_back(message.partition, message.offset);
  acked_bytes_ += message.value.size() + (message.key ? message.key->size() : 0);
  // The settle thread sends every settle_interval anyway. Once half the
  // credits (or half the byte budget) wait on acks, they go at once so the
  // server can push again sooner: from this thread, since waking the settle
  // thread for it would cost two more context switches.
  const uint64_t budget = config_.max_in_flight_bytes == 0 ? protocol::kDefaultMaxInFlightBytes
                                                           : config_.max_in_flight_bytes;
  if (acks_.size() >= std::max<size_t>(1, config_.max_in_flight / 2) ||
      acked_bytes_ >= budget / 2) {
    SendSettles();
  }
}

void GroupConsumer::Nack(const Message& message, std::chrono::milliseconds delay) {
  UniqueLock lock(mu_);
  // One delay per settle request: send what is queued with another delay first.
  if (!nacks_.empty() && nack_delay_ms_ != static_cast<uint32_t>(delay.count())) {
    SendSettles();
  }
  nack_delay_ms_ = static_cast<uint32_t>(delay.count());
  nacks_.emplace_back(message.partition, message.offset);
}

Status GroupConsumer::Commit() {
  UniqueLock lock(mu_);
  if (closed_) return Status(ErrorCode::kClosed, "the consumer is closed");
  SendSettles();
  settled_cv_.wait(lock.native(), [&]() REQUIRES(mu_) { return settles_in_flight_ == 0; });
  return Status::Ok();
}

void GroupConsumer::SendSettles() {
  if (acks_.empty() && nacks_.empty()) return;
  // On an arena: the request holds one entry message per ack, which would
  // otherwise be an allocation each.
  google::protobuf::Arena arena;
  auto& request = *google::protobuf::Arena::CreateMessage<pb::SettleRequest>(&arena);
  request.set_topic(config_.topic);
  request.set_group(config_.group);
  request.set_member_id(member_id_);
  request.mutable_acks()->Reserve(static_cast<int>(acks_.size()));
  for (const auto& [p, o] : acks_) {
    auto* e = request.add_acks();
    e->set_partition(p);
    e->set_offset(o);
  }
  for (const auto& [p, o] : nacks_) {
    auto* e = request.add_nacks();
    e->set_partition(p);
    e->set_offset(o);
  }
  request.set_nack_delay_ms(nack_delay_ms_);
  std::string body = request.SerializeAsString();
  acks_.clear();
  acked_bytes_ = 0;
  nacks_.clear();
  ++settles_in_flight_;
  MutexUnlock unlocked(mu_);  // its callback takes the lock
  client_.connection().CallAsync(
      static_cast<uint16_t>(MessageType::kSettle), std::move(body), {},
      [this](Result<transport::Reply> reply) {
        // Everything under the lock: Close waits for this callback.
        MutexLock relock(mu_);
        if (reply.ok() && reply->status().code() == ErrorCode::kUnknownMember) {
          rejoin_ = true;
          work_cv_.notify_one();
        }
        --settles_in_flight_;
        settled_cv_.notify_all();
      });
}

void GroupConsumer::Run() {
  const auto heartbeat_every = config_.session_timeout / 3;
  bool join_failed = false;  // the last rejoin failed
  auto next_heartbeat = std::chrono::steady_clock::now() + heartbeat_every;
  UniqueLock lock(mu_);
  while (!closed_) {
    work_cv_.wait_for(lock.native(), config_.settle_interval,
                      [&]() REQUIRES(mu_) { return closed_; });
    if (closed_) break;
    SendSettles();
    const bool rejoin = rejoin_;
    // A rejoin goes out at once, except after a failed one: that is retried
    // at the heartbeat pace rather than every settle interval.
    if ((!rejoin || join_failed) && std::chrono::steady_clock::now() < next_heartbeat) continue;
    next_heartbeat = std::chrono::steady_clock::now() + heartbeat_every;
    pb::HeartbeatRequest request;
    request.set_topic(config_.topic);
    request.set_group(config_.group);
    request.set_member_id(member_id_);
    lock.unlock();
    Status status = Status::Ok();
    if (!rejoin) {
      auto beat = client_.Request<pb::HeartbeatResponse>(MessageType::kHeartbeat, request);
      status = beat.status();
      if (beat.ok()) {
        MutexLock relock(mu_);
        partitions_.assign(beat->partitions().begin(), beat->partitions().end());
      }
    }
    if (rejoin || !status.ok()) {
      // The session expired (a pause, a network cut), or the coordinator is
      // gone or moved (NOT_LEADER, a dropped connection): what was delivered
      // here is redelivered to someone; join again for new deliveries.
      {
        MutexLock relock(mu_);
        queue_.clear();
        queue_head_ = 0;
        rejoin_ = false;
      }
      const Status joined = JoinNow();
      join_failed = !joined.ok();
      if (join_failed) {
        // Without a member id no deliveries come: keep asking until a join
        // succeeds (the node may be restarting or the network cut).
        log::Warn(
            "group rejoin failed; retrying",
            {{"topic", config_.topic}, {"group", config_.group}, {"error", joined.ToString()}});
        MutexLock relock(mu_);
        rejoin_ = true;
      }
    }
    lock.lock();
  }
}

Status GroupConsumer::Close() {
  {
    UniqueLock lock(mu_);
    if (closed_) return Status::Ok();
    SendSettles();
    closed_ = true;
  }
  work_cv_.notify_all();
  received_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  client_.RoutePushes(config_.topic, config_.group, nullptr);
  pb::LeaveGroupRequest request;
  request.set_topic(config_.topic);
  request.set_group(config_.group);
  request.set_member_id(member_id());
  Status left = client_.Request<pb::LeaveGroupResponse>(MessageType::kLeaveGroup, request).status();
  // Settle callbacks reach into this consumer: wait for them (each ends by
  // its reply or its timeout).
  UniqueLock lock(mu_);
  settled_cv_.wait(lock.native(), [&]() REQUIRES(mu_) { return settles_in_flight_ == 0; });
  return left;
}

void GroupConsumer::Interrupt() {
  {
    MutexLock lock(mu_);
    interrupted_ = true;
  }
  received_cv_.notify_all();
}

std::string GroupConsumer::member_id() const {
  MutexLock lock(mu_);
  return member_id_;
}

std::vector<uint32_t> GroupConsumer::partitions() const {
  MutexLock lock(mu_);
  return partitions_;
}

}  // namespace sprawl::client
