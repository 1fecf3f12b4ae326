#include "core/broker/group_manager.h"

#include <algorithm>
#include <limits>

#include "core/broker/batch_lookup.h"
#include "core/broker/batch_slicer.h"
#include "core/broker/group_checkpoint_entry.h"
#include "core/protocol/partitioner.h"
#include "core/storage/record_batch.h"
#include "core/util/logging.h"

namespace sprawl::broker {
namespace {

namespace pb = protocol::pb;

// "group/<topic>/<group>": that the group exists and where a new one starts.
// "cursor/<topic>/<group>/<partition>": a partition's cursor checkpoint.
constexpr std::string_view kGroupPrefix = "group/";
constexpr std::string_view kCursorPrefix = "cursor/";
constexpr int64_t kCheckpointIntervalMs = 200;
constexpr uint32_t kDefaultSessionTimeoutMs = 10'000;
constexpr uint32_t kMinSessionTimeoutMs = 100;
constexpr uint32_t kMaxSessionTimeoutMs = 600'000;
constexpr uint32_t kDefaultMaxInFlight = 100;
constexpr uint32_t kMaxInFlightLimit = 100'000;
constexpr uint64_t kMaxInFlightBytesLimit = uint64_t{1} << 30;
static_assert(protocol::kDefaultMaxInFlightBytes == kDefaultMaxInFlightBytes,
              "the protocol's and the coordinator's default byte budgets agree");
// A push carries at most this much (one larger message alone): far below
// what one transport message may carry (64 MiB), whatever the budget.
constexpr size_t kMaxPushBytes = 16u << 20;
// How long a dead letter refused for capacity waits before it is tried again.
constexpr int64_t kDeadLetterRetryMs = 50;

std::string GroupKey(const std::string& topic, const std::string& group) {
  return std::string(kGroupPrefix) + topic + "/" + group;
}
std::string CursorKey(const std::string& topic, const std::string& group, uint32_t partition) {
  return std::string(kCursorPrefix) + topic + "/" + group + "/" + std::to_string(partition);
}

Status ValidateGroupName(const std::string& group) {
  Status s = storage::Store::ValidateTopicName(group);
  if (!s.ok()) return InvalidArgument("group name: " + s.message());
  return s;
}

// The record at `offset` inside a stored batch, if present.
std::optional<storage::RecordInput> FindRecord(const std::string& batch, uint64_t offset,
                                               std::vector<storage::HeaderView>* headers,
                                               std::unique_ptr<storage::RecordIterator>* keep) {
  auto view = storage::RecordBatchView::ParseVerified(batch);
  if (!view.ok()) return std::nullopt;
  auto records = view->Records();
  if (!records.ok()) return std::nullopt;
  *keep = std::make_unique<storage::RecordIterator>(std::move(*records));
  storage::RecordView r;
  while ((*keep)->Next(&r)) {
    if (r.offset != offset) continue;
    storage::RecordInput input;
    input.key = r.key;
    input.value = r.value;
    input.timestamp_ms = r.timestamp_ms;
    *headers = r.Headers();
    input.headers = *headers;
    return input;
  }
  return std::nullopt;
}

}  // namespace

GroupManager::GroupManager(storage::Store& store, const TopicRegistry& topics,
                           PublishPipeline& pipeline, const Clock& clock, BrokerMetrics& metrics,
                           Post post, Serving serving)
    : store_(store),
      topics_(topics),
      pipeline_(pipeline),
      clock_(clock),
      metrics_(metrics),
      post_(std::move(post)),
      serving_(std::move(serving)) {}

CursorConfig GroupManager::CursorConfigOf(const TopicConfig& config) const {
  CursorConfig c;
  c.ack_timeout_ms = config.ack_timeout_ms;
  c.max_deliveries = config.max_deliveries;
  c.backoff_base_ms = std::min<int64_t>(100, config.ack_timeout_ms);
  return c;
}

Result<DeliveryCursor> GroupManager::StartCursor(const Topic& topic, uint32_t partition,
                                                 bool latest) const {
  storage::PartitionLog* log = topic.partitions[partition].get();
  return DeliveryCursor(latest ? log->CommitIndex() : log->FirstOffset(),
                        CursorConfigOf(topic.config));
}

Status GroupManager::Load() {
  SPRAWL_ASSIGN_OR_RETURN(auto groups, store_.ScanRecords(kGroupPrefix));
  for (const auto& [key, value] : groups) {
    const std::string rest = key.substr(kGroupPrefix.size());
    const size_t slash = rest.find('/');
    if (slash == std::string::npos) return DataCorruption("malformed group record '" + key + "'");
    const std::string topic_name = rest.substr(0, slash);
    const std::string group_name = rest.substr(slash + 1);
    if (!topics_.Find(topic_name).ok()) {
      // The topic's deletion was interrupted before its groups were removed.
      SPRAWL_RETURN_IF_ERROR(store_.DeleteRecord(key));
      continue;
    }
    SPRAWL_RETURN_IF_ERROR(LoadGroup(topic_name, group_name, value));
  }
  return Status::Ok();
}

Status GroupManager::LoadGroup(const std::string& topic_name, const std::string& group_name,
                               const std::string& start) {
  SPRAWL_ASSIGN_OR_RETURN(Group group, ReadGroup(topic_name, group_name, start, rng_()));
  groups_.insert_or_assign(GroupId{topic_name, group_name}, std::move(group));
  return Status::Ok();
}

Result<GroupManager::Group> GroupManager::ReadGroup(const std::string& topic_name,
                                                    const std::string& group_name,
                                                    const std::string& start, uint64_t seed) const {
  SPRAWL_ASSIGN_OR_RETURN(const Topic* topic, topics_.Find(topic_name));
  const bool latest = start == "latest";
  SPRAWL_ASSIGN_OR_RETURN(
      auto checkpoints,
      store_.ScanRecords(std::string(kCursorPrefix) + topic_name + "/" + group_name + "/"));
  std::map<uint32_t, CursorCheckpoint> saved;
  for (const auto& [ckey, cvalue] : checkpoints) {
    const uint32_t p = static_cast<uint32_t>(std::stoul(ckey.substr(ckey.rfind('/') + 1)));
    auto decoded = DecodeCheckpoint(cvalue);
    if (!decoded.ok()) return decoded.status().WithContext("cursor " + ckey);
    saved[p] = std::move(*decoded);
  }
  std::vector<DeliveryCursor> cursors;
  for (uint32_t p = 0; p < topic->partitions.size(); ++p) {
    storage::PartitionLog* log = topic->partitions[p].get();
    auto it = saved.find(p);
    if (it == saved.end()) {
      SPRAWL_ASSIGN_OR_RETURN(auto cursor, StartCursor(*topic, p, latest));
      cursors.push_back(std::move(cursor));
      continue;
    }
    DeliveryCursor cursor(it->second, CursorConfigOf(topic->config));
    if (cursor.next_offset() > log->CommitIndex()) {
      // The log lost records the cursor had seen (memory storage): start over at its end.
      cursor.Reset(log->CommitIndex());
    }
    cursor.OnLogStart(log->FirstOffset());
    cursors.push_back(std::move(cursor));
  }
  Group group;
  group.coordinator =
      std::make_unique<GroupCoordinator>(topic_name, group_name, std::move(cursors), seed);
  group.latest = latest;
  return group;
}

Result<std::optional<std::string>> GroupManager::StoredGroupStart(const GroupId& id) const {
  const std::string key = GroupKey(id.first, id.second);
  SPRAWL_ASSIGN_OR_RETURN(auto records, store_.ScanRecords(key));
  for (auto& [k, value] : records) {
    if (k == key) return std::optional<std::string>(std::move(value));  // not a longer name
  }
  return std::optional<std::string>();
}

Result<PartitionRoute> GroupManager::CoordinatorRoute(const GroupId& id) const {
  if (replication_ == nullptr) return PartitionRoute{};
  auto topic = topics_.Find(id.first);
  if (!topic.ok() || (*topic)->partitions.empty()) return PartitionRoute{};  // the call reports it
  const uint32_t home = kGroupHomePartition;
  PartitionRoute route = replication_->Route(id.first, home);
  if (route.kind == PartitionRoute::Kind::kLocal) return route;
  if (route.kind == PartitionRoute::Kind::kLeader && route.settled) return route;
  if (route.kind == PartitionRoute::Kind::kLeader) {
    return NotLeader("group '" + id.second + "' of topic '" + id.first +
                         "' is coordinated by the leader of partition " + std::to_string(home) +
                         ", elected here and still applying its predecessor's entries",
                     "");
  }
  return NotLeader("group '" + id.second + "' of topic '" + id.first +
                       "' is coordinated by the leader of partition " + std::to_string(home),
                   route.hint);
}

Status GroupManager::Coordinate(const GroupId& id) {
  auto route = CoordinatorRoute(id);
  auto held = groups_.find(id);
  if (!route.ok()) {
    // Another node coordinates it: a group this node coordinated in an
    // earlier term is stale, and its members must rejoin there. One loaded
    // at start-up (term 0) stays: a topic whose placement has not replayed
    // yet may turn out to be served here alone.
    if (held != groups_.end() && held->second.term != 0) groups_.erase(held);
    return route.status();
  }
  if (route->kind != PartitionRoute::Kind::kLeader) return Status::Ok();
  if (held != groups_.end() && held->second.term == route->term) return Status::Ok();
  // New leadership of the home partition: the replicated records, which
  // every checkpoint committed before this term has reached, are the state.
  if (held != groups_.end()) groups_.erase(held);
  SPRAWL_ASSIGN_OR_RETURN(auto start, StoredGroupStart(id));
  if (!start) return Status::Ok();  // a new group: the join creates it
  SPRAWL_RETURN_IF_ERROR(LoadGroup(id.first, id.second, *start));
  groups_.at(id).term = route->term;
  log::Info("group resumed from its replicated cursors",
            {{"topic", id.first}, {"group", id.second}, {"term", std::to_string(route->term)}});
  return Status::Ok();
}

Result<GroupManager::Group*> GroupManager::FindGroup(const std::string& topic,
                                                     const std::string& group) {
  auto it = groups_.find({topic, group});
  if (it == groups_.end()) {
    return NotFound("group '" + group + "' of topic '" + topic + "' does not exist");
  }
  return &it->second;
}

Result<const GroupManager::Group*> GroupManager::FindGroup(const std::string& topic,
                                                           const std::string& group) const {
  auto it = groups_.find({topic, group});
  if (it == groups_.end()) {
    return NotFound("group '" + group + "' of topic '" + topic + "' does not exist");
  }
  return &it->second;
}

void GroupManager::JoinGroup(const pb::JoinGroupRequest& request, const std::string& connection,
                             JoinDone done) {
  auto topic = topics_.Find(request.topic());
  if (!topic.ok()) return done(topic.status());
  if (!serving_(request.topic())) {
    return done(NotFound("topic '" + request.topic() + "' is being deleted"));
  }
  if (Status s = ValidateGroupName(request.group()); !s.ok()) return done(s);
  const uint32_t session =
      request.session_timeout_ms() == 0 ? kDefaultSessionTimeoutMs : request.session_timeout_ms();
  if (session < kMinSessionTimeoutMs || session > kMaxSessionTimeoutMs) {
    return done(InvalidArgument(
        "session_timeout_ms must be between " + std::to_string(kMinSessionTimeoutMs) + " and " +
        std::to_string(kMaxSessionTimeoutMs) + ", got " + std::to_string(session)));
  }
  const uint32_t credits =
      request.max_in_flight() == 0 ? kDefaultMaxInFlight : request.max_in_flight();
  if (credits > kMaxInFlightLimit) {
    return done(InvalidArgument("max_in_flight must be at most " +
                                std::to_string(kMaxInFlightLimit) + ", got " +
                                std::to_string(credits)));
  }
  const uint64_t budget = request.max_in_flight_bytes() == 0 ? protocol::kDefaultMaxInFlightBytes
                                                             : request.max_in_flight_bytes();
  if (budget > kMaxInFlightBytesLimit) {
    return done(InvalidArgument("max_in_flight_bytes must be at most " +
                                std::to_string(kMaxInFlightBytesLimit) + ", got " +
                                std::to_string(budget)));
  }
  const Credits limits{credits, budget};
  if (request.start() != pb::OFFSET_EARLIEST && request.start() != pb::OFFSET_LATEST) {
    return done(InvalidArgument("a group starts at EARLIEST or LATEST"));
  }
  const GroupId id{request.topic(), request.group()};
  if (Status s = Coordinate(id); !s.ok()) return done(s);
  if (groups_.count(id) > 0) return done(Join(id, request, connection, session, limits));
  if (auto pending = creating_.find(id); pending != creating_.end()) {
    pending->second.push_back(
        [this, request, connection, done] { JoinGroup(request, connection, done); });
    return;
  }
  creating_[id];
  const bool latest = request.start() == pb::OFFSET_LATEST;
  store_.PutRecordAsync(
      GroupKey(id.first, id.second), latest ? "latest" : "earliest",
      [this, alive = std::weak_ptr<bool>(alive_), id, request, connection, session, limits,
       done](const Status& written) {
        post_([this, alive, id, request, connection, session, limits, done, written] {
          if (alive.expired()) return;
          std::vector<std::function<void()>> waiting = std::move(creating_[id]);
          creating_.erase(id);
          if (!written.ok()) {
            done(written);
          } else if (Status s = CreateGroup(id, request.start() == pb::OFFSET_LATEST); !s.ok()) {
            done(s);
          } else {
            done(Join(id, request, connection, session, limits));
          }
          for (auto& retry : waiting) retry();
        });
      });
}

Status GroupManager::CreateGroup(const GroupId& id, bool latest) {
  // Checked again: the topic may have changed while the record was written.
  SPRAWL_ASSIGN_OR_RETURN(const Topic* topic, topics_.Find(id.first));
  if (!serving_(id.first)) return NotFound("topic '" + id.first + "' is being deleted");
  if (groups_.count(id) > 0) return Status::Ok();
  std::vector<DeliveryCursor> cursors;
  for (uint32_t p = 0; p < topic->partitions.size(); ++p) {
    SPRAWL_ASSIGN_OR_RETURN(auto cursor, StartCursor(*topic, p, latest));
    cursors.push_back(std::move(cursor));
  }
  Group group;
  group.coordinator =
      std::make_unique<GroupCoordinator>(id.first, id.second, std::move(cursors), rng_());
  for (uint32_t p = 0; p < topic->partitions.size(); ++p) group.dirty.insert(p);
  group.latest = latest;
  auto route = CoordinatorRoute(id);
  if (!route.ok()) return route.status();  // leadership moved while the record was written
  group.term = route->term;
  groups_.emplace(id, std::move(group));
  log::Info("group created", {{"topic", id.first}, {"group", id.second}});
  return Status::Ok();
}

pb::JoinGroupResponse GroupManager::Join(const GroupId& id, const pb::JoinGroupRequest& request,
                                         const std::string& connection, uint32_t session,
                                         const Credits& credits) {
  auto it = groups_.find(id);
  const GroupMember& member =
      it->second.coordinator->Join(request.member_id(), request.client_name(), connection, session,
                                   credits.messages, NowMs(), credits.bytes);
  metrics_.rebalances.Increment();
  pb::JoinGroupResponse out;
  out.set_member_id(member.id);
  out.set_generation(it->second.coordinator->generation());
  for (uint32_t p : member.partitions) out.add_partitions(p);
  // Deliveries follow the join's reply, which names the member they are for.
  post_([this, id] {
    auto group = groups_.find(id);
    if (group != groups_.end()) Pump(group->second);
  });
  return out;
}

Result<pb::HeartbeatResponse> GroupManager::Heartbeat(const pb::HeartbeatRequest& request,
                                                      const std::string& connection) {
  SPRAWL_RETURN_IF_ERROR(Coordinate({request.topic(), request.group()}));
  SPRAWL_ASSIGN_OR_RETURN(Group * group, FindGroup(request.topic(), request.group()));
  SPRAWL_ASSIGN_OR_RETURN(const GroupMember* member,
                          group->coordinator->Heartbeat(request.member_id(), connection, NowMs()));
  pb::HeartbeatResponse out;
  out.set_generation(group->coordinator->generation());
  for (uint32_t p : member->partitions) out.add_partitions(p);
  return out;
}

Status GroupManager::LeaveGroup(const pb::LeaveGroupRequest& request) {
  SPRAWL_RETURN_IF_ERROR(Coordinate({request.topic(), request.group()}));
  SPRAWL_ASSIGN_OR_RETURN(Group * group, FindGroup(request.topic(), request.group()));
  std::vector<PartitionDeadLetter> letters;
  SPRAWL_RETURN_IF_ERROR(group->coordinator->Leave(request.member_id(), NowMs(), &letters));
  metrics_.rebalances.Increment();
  for (const auto& l : letters) group->dirty.insert(l.partition);
  if (!letters.empty()) {
    MoveToDeadLetters({request.topic(), request.group()}, std::move(letters));
  }
  Pump(*group);
  return Status::Ok();
}

Result<pb::SettleResponse> GroupManager::Settle(const pb::SettleRequest& request) {
  SPRAWL_RETURN_IF_ERROR(Coordinate({request.topic(), request.group()}));
  SPRAWL_ASSIGN_OR_RETURN(Group * group, FindGroup(request.topic(), request.group()));
  GroupCoordinator& g = *group->coordinator;
  if (g.members().find(request.member_id()) == g.members().end()) {
    return Status(ErrorCode::kUnknownMember, "member '" + request.member_id() + "' of group '" +
                                                 request.group() +
                                                 "' is unknown or its session expired; join again");
  }
  pb::SettleResponse out;
  uint32_t unknown = 0;
  for (const pb::AckEntry& e : request.acks()) {
    Status s = g.Ack(request.member_id(), e.partition(), e.offset());
    if (s.ok()) {
      group->dirty.insert(e.partition());
      metrics_.group_acks.Increment();
    } else {
      ++unknown;
    }
  }
  std::vector<PartitionDeadLetter> letters;
  for (const pb::AckEntry& e : request.nacks()) {
    Status s = g.Nack(request.member_id(), e.partition(), e.offset(), request.nack_delay_ms(),
                      NowMs(), &letters);
    if (s.ok()) {
      group->dirty.insert(e.partition());
      metrics_.group_nacks.Increment();
    } else {
      ++unknown;
    }
  }
  out.set_unknown(unknown);
  // Heartbeats ride along: a member that settles is alive.
  (void)g.Heartbeat(request.member_id(), g.members().at(request.member_id()).connection, NowMs());
  if (!letters.empty()) MoveToDeadLetters({request.topic(), request.group()}, std::move(letters));
  Pump(*group);
  return out;
}

void GroupManager::Pump(Group& group) {
  GroupCoordinator& g = *group.coordinator;
  auto topic = topics_.Find(g.topic());
  if (!topic.ok()) return;
  std::vector<uint64_t> high_watermarks;
  std::vector<storage::PartitionLog*> logs;
  for (const auto& log : (*topic)->partitions) {
    high_watermarks.push_back(log->CommitIndex());
    logs.push_back(log.get());
  }
  // Planning reads the batches to learn the messages' sizes; the pushes below
  // send the same batches without reading them again.
  BatchLookup lookup(std::move(logs), high_watermarks);
  std::vector<PartitionDeadLetter> letters;
  const int64_t now = NowMs();
  const int64_t ttl = (*topic)->config.message_ttl_ms;
  const int64_t wall_now = clock_.WallMillis();
  auto size_of = [&lookup](uint32_t partition, uint64_t offset) {
    return lookup.MessageBytes(partition, offset);
  };
  for (Push& push : g.Plan(high_watermarks, now, &letters, size_of)) {
    storage::PartitionLog* log = (*topic)->partitions[push.partition].get();
    DeliveryCursor& cursor = g.cursors()[push.partition];
    group.dirty.insert(push.partition);
    pb::DeliverPush out;
    Batches batches;
    size_t push_bytes = 0;
    auto start_push = [&] {
      out.Clear();
      out.set_topic(g.topic());
      out.set_group(g.group());
      out.set_member_id(push.member);
      out.set_partition(push.partition);
      batches.clear();
      push_bytes = 0;
    };
    auto send_push = [&] {
      if (out.deliveries_size() > 0 && deliver_) {
        deliver_(push.connection, std::move(out), std::move(batches));
      }
      start_push();
    };
    start_push();
    std::vector<Delivery> deliveries = push.deliveries;
    std::sort(deliveries.begin(), deliveries.end(),
              [](const Delivery& a, const Delivery& b) { return a.offset < b.offset; });
    size_t i = 0;
    while (i < deliveries.size()) {
      // The stored batch holding the next delivery, and the deliveries in it.
      auto found = lookup.Find(push.partition, deliveries[i].offset);
      if (!found.ok()) {
        // Retention removed it, or the stored batch is corrupt: it cannot
        // be delivered; settle it so the group moves on.
        log::Warn("group delivery skipped", {{"topic", g.topic()},
                                             {"partition", push.partition},
                                             {"offset", deliveries[i].offset},
                                             {"error", found.status().ToString()}});
        if (deliveries[i].offset < log->FirstOffset()) {
          cursor.OnLogStart(log->FirstOffset());
        } else {
          cursor.Expire(deliveries[i].offset);
        }
        ++i;
        continue;
      }
      const storage::StoredBatch& stored = **found;
      std::vector<uint64_t> offsets;
      const size_t first = i;
      while (i < deliveries.size() && deliveries[i].offset <= stored.last_offset) {
        offsets.push_back(deliveries[i].offset);
        ++i;
      }
      auto slice = SliceBatch(stored, offsets, ttl, wall_now, &slice_resume_);
      if (!slice.ok()) {
        log::Error("group delivery skipped: stored batch unreadable",
                   {{"topic", g.topic()}, {"error", slice.status().ToString()}});
        for (uint64_t o : offsets) cursor.Expire(o);
        continue;
      }
      for (uint64_t o : slice->expired) {
        cursor.Expire(o);
        metrics_.expired.Increment();
      }
      size_t slice_bytes = 0;
      for (const auto& b : slice->batches) slice_bytes += b->size();
      // A push stays within what a transport message may carry, in bytes
      // and in frames.
      if (push_bytes > 0 &&
          (push_bytes + slice_bytes > kMaxPushBytes ||
           batches.size() + slice->batches.size() > protocol::kMaxBatchesPerMessage)) {
        send_push();
      }
      // slice->expired is ascending, like the deliveries of this batch.
      auto expired = slice->expired.begin();
      for (size_t d = first; d < i; ++d) {
        const Delivery& delivery = deliveries[d];
        if (expired != slice->expired.end() && *expired == delivery.offset) {
          ++expired;
          continue;
        }
        auto* sent = out.add_deliveries();
        sent->set_offset(delivery.offset);
        sent->set_delivery_count(delivery.delivery_count);
        metrics_.group_deliveries.Increment();
        if (delivery.delivery_count > 1) metrics_.group_redeliveries.Increment();
      }
      for (auto& b : slice->batches) batches.push_back(std::move(b));
      push_bytes += slice_bytes;
    }
    send_push();
  }
  if (!letters.empty()) MoveToDeadLetters({g.topic(), g.group()}, std::move(letters));
}

void GroupManager::MoveToDeadLetters(const GroupId& id, std::vector<PartitionDeadLetter> letters) {
  auto topic = topics_.Find(id.first);
  if (!topic.ok()) return;
  const std::string& dlq_name = (*topic)->config.dead_letter_topic;
  auto dlq = dlq_name.empty() ? Result<const Topic*>(NotFound("")) : topics_.Find(dlq_name);
  for (const PartitionDeadLetter& pl : letters) {
    const uint32_t partition = pl.partition;
    const uint64_t offset = pl.letter.offset;
    if (!dlq.ok()) {
      if (!dlq_name.empty()) {
        log::Error("dead letter topic missing; message dropped",
                   {{"topic", id.first}, {"dead_letter_topic", dlq_name}, {"offset", offset}});
      }
      metrics_.dead_letter_dropped.Increment();
      CompleteDeadLetter(id, partition, offset);
      continue;
    }
    storage::PartitionLog* log = (*topic)->partitions[partition].get();
    storage::ReadLimits limits;
    limits.max_records = 1;
    limits.end_offset = log->CommitIndex();
    auto read = log->Read(offset, limits);
    std::vector<storage::HeaderView> headers;
    std::unique_ptr<storage::RecordIterator> keep;
    std::optional<storage::RecordInput> record;
    if (read.ok() && !read->batches.empty()) {
      record = FindRecord(*read->batches.front().bytes, offset, &headers, &keep);
    }
    if (!record) {
      log::Error("dead letter source record unreadable; message dropped",
                 {{"topic", id.first}, {"partition", partition}, {"offset", offset}});
      metrics_.dead_letter_dropped.Increment();
      CompleteDeadLetter(id, partition, offset);
      continue;
    }
    // The original headers plus why, how often and when it was given up on.
    const std::string deliveries = std::to_string(pl.letter.deliveries);
    const std::string when = std::to_string(clock_.WallMillis());
    const std::string source_partition = std::to_string(partition);
    const std::string source_offset = std::to_string(offset);
    record->headers.push_back({"sprawl-dead-letter-reason", pl.letter.reason});
    record->headers.push_back({"sprawl-deliveries", deliveries});
    record->headers.push_back({"sprawl-dead-lettered-at-ms", when});
    record->headers.push_back({"sprawl-source-topic", id.first});
    record->headers.push_back({"sprawl-source-partition", source_partition});
    record->headers.push_back({"sprawl-source-offset", source_offset});
    record->headers.push_back({"sprawl-group", id.second});
    storage::RecordBatchBuilder builder;
    builder.Add(*record);
    auto batch = builder.Build();
    const Topic& target = **dlq;
    const uint32_t target_partition =
        record->key && !record->key->empty()
            ? protocol::PartitionForKey(*record->key, target.config.partitions)
            : partition % target.config.partitions;
    if (!batch.ok()) {
      log::Error("dead letter batch not built; message dropped",
                 {{"topic", id.first}, {"error", batch.status().ToString()}});
      metrics_.dead_letter_dropped.Increment();
      CompleteDeadLetter(id, partition, offset);
      continue;
    }
    // The normal publish path: the letter counts once committed, under the
    // same bound on bytes in flight as any publish.
    PartitionDeadLetter retry = pl;
    pipeline_.Append(target, target_partition, std::move(*batch),
                     [this, id, partition, offset, retry](Result<storage::AppendInfo> info) {
                       if (info.ok()) {
                         metrics_.dead_lettered.Increment();
                         return CompleteDeadLetter(id, partition, offset);
                       }
                       if (info.status().code() == ErrorCode::kRetryAfter) {
                         if (deferred_letters_.empty())
                           deferred_letters_at_ms_ = NowMs() + kDeadLetterRetryMs;
                         deferred_letters_.emplace_back(id, retry);
                         return;
                       }
                       // Not settled: it is dead-lettered again on the next restart.
                       log::Error("dead letter append failed",
                                  {{"topic", id.first}, {"error", info.status().ToString()}});
                     });
  }
}

void GroupManager::CompleteDeadLetter(const GroupId& id, uint32_t partition, uint64_t offset) {
  auto it = groups_.find(id);
  if (it == groups_.end()) return;
  auto& cursors = it->second.coordinator->cursors();
  if (partition >= cursors.size()) return;
  cursors[partition].CompleteDeadLetter(offset);
  it->second.dirty.insert(partition);
}

void GroupManager::Tick() {
  const int64_t now = NowMs();
  if (!deferred_letters_.empty() && now >= deferred_letters_at_ms_) {
    std::map<GroupId, std::vector<PartitionDeadLetter>> again;
    for (auto& [id, letter] : deferred_letters_) again[id].push_back(std::move(letter));
    deferred_letters_.clear();
    for (auto& [id, letters] : again) {
      if (groups_.count(id) > 0) MoveToDeadLetters(id, std::move(letters));
    }
  }
  for (auto& [id, group] : groups_) {
    std::vector<PartitionDeadLetter> letters;
    if (group.coordinator->Tick(now, &letters)) metrics_.rebalances.Increment();
    for (const auto& l : letters) group.dirty.insert(l.partition);
    if (!letters.empty()) MoveToDeadLetters(id, std::move(letters));
    Pump(group);
  }
  if (now - last_checkpoint_ms_ >= kCheckpointIntervalMs) {
    last_checkpoint_ms_ = now;
    Checkpoint();
  }
}

void GroupManager::Checkpoint() {
  for (auto& [id, group] : groups_) {
    if (group.dirty.empty()) continue;
    const auto& cursors = group.coordinator->cursors();
    auto route = CoordinatorRoute(id);
    if (!route.ok() || route->kind == PartitionRoute::Kind::kLeader) {
      // A replicated topic's group: its cursors go through the home
      // partition's log when this node coordinates it at the group's term;
      // a group held elsewhere or from another term writes nothing.
      if (route.ok() && route->term == group.term) {
        GroupCheckpointEntry entry{id.second, group.latest, {}};
        for (uint32_t p : group.dirty) {
          if (p < cursors.size())
            entry.cursors.emplace_back(p, EncodeCheckpoint(cursors[p].Checkpoint()));
        }
        Status proposed = replication_->ProposeGroupCheckpoint(id.first, kGroupHomePartition,
                                                               EncodeGroupCheckpointEntry(entry));
        if (!proposed.ok()) continue;  // kept dirty: the next checkpoint tries again
      }
      group.dirty.clear();
      continue;
    }
    for (uint32_t p : group.dirty) {
      if (p >= cursors.size()) continue;
      store_.PutRecordAsync(CursorKey(id.first, id.second, p),
                            EncodeCheckpoint(cursors[p].Checkpoint()), [](Status s) {
                              if (!s.ok()) {
                                log::Error("group checkpoint failed", {{"error", s.ToString()}});
                              }
                            });
    }
    group.dirty.clear();
  }
}

void GroupManager::ApplyCheckpoint(const std::string& topic, std::string_view bytes) {
  auto entry = DecodeGroupCheckpointEntry(bytes);
  if (entry.ok() && !ValidateGroupName(entry->group).ok()) {
    entry = DataCorruption("group checkpoint entry: invalid group name");
  }
  if (!entry.ok()) {
    log::Warn("group checkpoint entry skipped",
              {{"topic", topic}, {"error", entry.status().ToString()}});
    return;
  }
  // A topic being deleted keeps no records of its groups.
  if (!topics_.Find(topic).ok() || !serving_(topic)) return;
  using RecordWrite = storage::Store::RecordWrite;
  std::vector<RecordWrite> writes;
  writes.push_back({RecordWrite::Kind::kPut, GroupKey(topic, entry->group),
                    entry->latest ? "latest" : "earliest"});
  for (auto& [partition, checkpoint] : entry->cursors) {
    writes.push_back({RecordWrite::Kind::kPut, CursorKey(topic, entry->group, partition),
                      std::move(checkpoint)});
  }
  store_.WriteRecordsAsync(std::move(writes), /*sync=*/false, [](const Status& s) {
    if (!s.ok()) log::Error("replicated group checkpoint not stored", {{"error", s.ToString()}});
  });
}

pb::GroupDescription GroupManager::DescribeGroupState(const Group& group) const {
  const GroupCoordinator& g = *group.coordinator;
  pb::GroupDescription d;
  d.set_topic(g.topic());
  d.set_group(g.group());
  d.set_generation(g.generation());
  for (const auto& [id, m] : g.members()) {
    auto* out = d.add_members();
    out->set_member_id(id);
    out->set_client_name(m.client_name);
    for (uint32_t p : m.partitions) out->add_partitions(p);
    out->set_in_flight(g.InFlight(m));
    out->set_max_in_flight(m.max_in_flight);
    out->set_in_flight_bytes(g.InFlightBytes(m));
    out->set_max_in_flight_bytes(m.max_in_flight_bytes);
  }
  auto topic = topics_.Find(g.topic());
  for (uint32_t p = 0; p < g.cursors().size(); ++p) {
    const DeliveryCursor& c = g.cursors()[p];
    auto* out = d.add_partitions();
    out->set_partition(p);
    out->set_ack_floor(c.ack_floor());
    out->set_next_offset(c.next_offset());
    uint64_t hw = c.ack_floor();
    if (topic.ok() && p < (*topic)->partitions.size()) {
      hw = (*topic)->partitions[p]->CommitIndex();
    }
    out->set_lag(hw > c.ack_floor() ? hw - c.ack_floor() : 0);
    out->set_in_flight(c.in_flight());
    out->set_dead_lettered(c.dead_lettered());
    out->set_expired(c.expired());
  }
  return d;
}

Result<pb::GroupDescription> GroupManager::DescribeGroup(
    const pb::DescribeGroupRequest& request) const {
  const GroupId id{request.topic(), request.group()};
  auto route = CoordinatorRoute(id);
  if (!route.ok() && route.status().code() == ErrorCode::kNotLeader) {
    // Another node coordinates it: this replica's copy of its replicated
    // checkpoint (no members; a checkpoint interval behind at most).
    SPRAWL_ASSIGN_OR_RETURN(auto start, StoredGroupStart(id));
    if (!start) {
      return NotFound("group '" + id.second + "' of topic '" + id.first + "' does not exist");
    }
    SPRAWL_ASSIGN_OR_RETURN(Group stored, ReadGroup(id.first, id.second, *start, 0));
    return DescribeGroupState(stored);
  }
  SPRAWL_RETURN_IF_ERROR(route.status());
  SPRAWL_ASSIGN_OR_RETURN(const Group* group, FindGroup(request.topic(), request.group()));
  return DescribeGroupState(*group);
}

pb::ListGroupsResponse GroupManager::ListGroups(const pb::ListGroupsRequest& request) const {
  pb::ListGroupsResponse out;
  for (const auto& [id, group] : groups_) {
    if (request.topic().empty() || request.topic() == id.first) {
      *out.add_groups() = DescribeGroupState(group);
    }
  }
  return out;
}

Result<pb::GroupDescription> GroupManager::ResetOffsets(
    const std::string& topic, const std::string& group,
    const std::function<Result<uint64_t>(uint32_t partition)>& target) {
  SPRAWL_RETURN_IF_ERROR(Coordinate({topic, group}));
  SPRAWL_ASSIGN_OR_RETURN(Group * found, FindGroup(topic, group));
  SPRAWL_ASSIGN_OR_RETURN(const Topic* t, topics_.Find(topic));
  std::vector<uint64_t> targets;
  for (uint32_t p = 0; p < t->partitions.size(); ++p) {
    SPRAWL_ASSIGN_OR_RETURN(uint64_t offset, target(p));
    targets.push_back(offset);
  }
  auto& cursors = found->coordinator->cursors();
  for (uint32_t p = 0; p < targets.size() && p < cursors.size(); ++p) {
    cursors[p].Reset(targets[p]);
    found->dirty.insert(p);
  }
  Pump(*found);
  return DescribeGroupState(*found);
}

void GroupManager::OnCommitted(const std::string& topic) {
  for (auto& [id, group] : groups_) {
    if (id.first == topic) Pump(group);
  }
}

int64_t GroupManager::NextDeadlineNanos() const {
  int64_t next = std::numeric_limits<int64_t>::max();
  const int64_t now_ms = NowMs();
  bool dirty = false;
  for (const auto& [id, group] : groups_) {
    const int64_t ms = group.coordinator->NextDeadline(now_ms);
    if (ms != std::numeric_limits<int64_t>::max()) next = std::min(next, ms * 1'000'000);
    dirty = dirty || !group.dirty.empty();
  }
  if (dirty) next = std::min(next, (last_checkpoint_ms_ + kCheckpointIntervalMs) * 1'000'000);
  if (!deferred_letters_.empty()) next = std::min(next, deferred_letters_at_ms_ * 1'000'000);
  return next;
}

void GroupManager::OnTopicAltered(const Topic& topic) {
  for (auto& [id, group] : groups_) {
    if (id.first != topic.name) continue;
    auto& cursors = group.coordinator->cursors();
    for (auto& c : cursors) c.SetConfig(CursorConfigOf(topic.config));
    if (cursors.size() < topic.partitions.size()) {
      std::vector<DeliveryCursor> added;
      for (uint32_t p = static_cast<uint32_t>(cursors.size()); p < topic.partitions.size(); ++p) {
        // New partitions are consumed from their start.
        added.emplace_back(topic.partitions[p]->FirstOffset(), CursorConfigOf(topic.config));
        group.dirty.insert(p);
      }
      group.coordinator->AddPartitions(std::move(added));
      metrics_.rebalances.Increment();
    }
    Pump(group);
  }
}

std::function<void()> GroupManager::DropTopic(const std::string& topic) {
  for (auto it = groups_.begin(); it != groups_.end();) {
    it = it->first.first == topic ? groups_.erase(it) : std::next(it);
  }
  // By prefix: a group whose record is still being written goes too (its
  // write was queued before this deletion).
  return [&store = store_, topic] {
    Status a = store.DeleteRecords(std::string(kGroupPrefix) + topic + "/");
    Status b = store.DeleteRecords(std::string(kCursorPrefix) + topic + "/");
    if (!a.ok() || !b.ok()) log::Error("group records not deleted", {{"topic", topic}});
  };
}

}  // namespace sprawl::broker
