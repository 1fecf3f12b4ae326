#include "core/broker/group_coordinator.h"

#include <algorithm>
#include <cstdio>
#include <limits>

#include "core/broker/sticky_assignor.h"

namespace sprawl::broker {
namespace {

// Deliveries taken from one partition per member per Plan: keeps one busy
// partition from filling a member's credits before the others get a turn.
constexpr size_t kChunk = 256;

}  // namespace

GroupCoordinator::GroupCoordinator(std::string topic, std::string group,
                                   std::vector<DeliveryCursor> cursors, uint64_t seed)
    : topic_(std::move(topic)),
      group_(std::move(group)),
      cursors_(std::move(cursors)),
      rng_(seed) {}

GroupMember* GroupCoordinator::Find(const std::string& member_id) {
  auto it = members_.find(member_id);
  return it == members_.end() ? nullptr : &it->second;
}

const GroupMember& GroupCoordinator::Join(const std::string& member_id,
                                          const std::string& client_name,
                                          const std::string& connection, int64_t session_timeout_ms,
                                          uint32_t max_in_flight, int64_t now_ms,
                                          uint64_t max_in_flight_bytes) {
  GroupMember* member = member_id.empty() ? nullptr : Find(member_id);
  if (member == nullptr) {
    char suffix[17];
    std::snprintf(suffix, sizeof(suffix), "%016llx", static_cast<unsigned long long>(rng_()));
    GroupMember fresh;
    fresh.id = "m" + std::to_string(++member_counter_) + "-" + suffix;
    member = &members_.emplace(fresh.id, fresh).first->second;
  }
  member->client_name = client_name;
  member->connection = connection;
  member->session_timeout_ms = session_timeout_ms;
  member->max_in_flight = max_in_flight;
  member->max_in_flight_bytes = max_in_flight_bytes;
  member->last_seen_ms = now_ms;
  Rebalance();
  return *member;
}

Result<const GroupMember*> GroupCoordinator::Heartbeat(const std::string& member_id,
                                                       const std::string& connection,
                                                       int64_t now_ms) {
  GroupMember* member = Find(member_id);
  if (member == nullptr) {
    return Status(ErrorCode::kUnknownMember, "member '" + member_id + "' of group '" + group_ +
                                                 "' is unknown or its session expired; join again");
  }
  member->last_seen_ms = now_ms;
  member->connection = connection;
  return member;
}

void GroupCoordinator::Release(const std::string& member_id, int64_t now_ms,
                               std::vector<PartitionDeadLetter>* dead_letters) {
  for (uint32_t p = 0; p < cursors_.size(); ++p) {
    std::vector<DeadLetter> letters;
    cursors_[p].Release(member_id, now_ms, &letters);
    for (auto& l : letters) dead_letters->push_back({p, std::move(l)});
  }
}

Status GroupCoordinator::Leave(const std::string& member_id, int64_t now_ms,
                               std::vector<PartitionDeadLetter>* dead_letters) {
  if (Find(member_id) == nullptr) {
    return Status(ErrorCode::kUnknownMember,
                  "member '" + member_id + "' of group '" + group_ + "' is unknown");
  }
  members_.erase(member_id);
  Release(member_id, now_ms, dead_letters);
  Rebalance();
  return Status::Ok();
}

void GroupCoordinator::Rebalance() {
  std::map<std::string, std::vector<uint32_t>> current;
  for (const auto& [id, m] : members_) current[id] = m.partitions;
  auto assigned = AssignSticky(current, static_cast<uint32_t>(cursors_.size()));
  for (auto& [id, partitions] : assigned) members_[id].partitions = std::move(partitions);
  ++generation_;
}

Status GroupCoordinator::Ack(const std::string& member_id, uint32_t partition, uint64_t offset) {
  if (Find(member_id) == nullptr) {
    return Status(ErrorCode::kUnknownMember, "member '" + member_id + "' is unknown; join again");
  }
  if (partition >= cursors_.size()) {
    return NotFound("partition " + std::to_string(partition) + " does not exist");
  }
  return cursors_[partition].Ack(offset);
}

Status GroupCoordinator::Nack(const std::string& member_id, uint32_t partition, uint64_t offset,
                              int64_t delay_ms, int64_t now_ms,
                              std::vector<PartitionDeadLetter>* dead_letters) {
  if (Find(member_id) == nullptr) {
    return Status(ErrorCode::kUnknownMember, "member '" + member_id + "' is unknown; join again");
  }
  if (partition >= cursors_.size()) {
    return NotFound("partition " + std::to_string(partition) + " does not exist");
  }
  std::vector<DeadLetter> letters;
  Status s = cursors_[partition].Nack(offset, delay_ms, now_ms, &letters);
  for (auto& l : letters) dead_letters->push_back({partition, std::move(l)});
  return s;
}

uint32_t GroupCoordinator::InFlight(const GroupMember& member) const {
  uint32_t n = 0;
  // Counted over every partition: deliveries survive a partition moving away.
  for (const DeliveryCursor& cursor : cursors_) n += cursor.in_flight_to(member.id);
  return n;
}

uint64_t GroupCoordinator::InFlightBytes(const GroupMember& member) const {
  uint64_t n = 0;
  for (const DeliveryCursor& cursor : cursors_) n += cursor.in_flight_bytes_to(member.id);
  return n;
}

std::vector<Push> GroupCoordinator::Plan(const std::vector<uint64_t>& high_watermarks,
                                         int64_t now_ms,
                                         std::vector<PartitionDeadLetter>* dead_letters,
                                         const PartitionMessageSize& size_of) {
  std::vector<Push> pushes;
  for (DeliveryCursor& cursor : cursors_) cursor.MarkPlanned(now_ms);
  if (members_.empty()) return pushes;
  std::vector<GroupMember*> order;
  for (auto& [id, m] : members_) order.push_back(&m);
  const size_t start = rotation_++ % order.size();
  for (size_t k = 0; k < order.size(); ++k) {
    GroupMember& member = *order[(start + k) % order.size()];
    if (member.partitions.empty()) continue;
    const uint32_t used = InFlight(member);
    // Wait until a quarter of the credits (at most kChunk) is free, so that
    // pushes carry many deliveries instead of one per ack.
    const uint32_t threshold =
        std::max<uint32_t>(1, std::min<uint32_t>(kChunk, member.max_in_flight / 4));
    if (used + threshold > member.max_in_flight) continue;
    size_t credits = member.max_in_flight - used;
    // Likewise a quarter of the byte budget. With nothing in flight a member
    // always gets something: a message larger than its budget then goes alone.
    const uint64_t used_bytes = size_of ? InFlightBytes(member) : 0;
    const uint64_t budget = member.max_in_flight_bytes;
    if (used_bytes > 0 && used_bytes + std::max<uint64_t>(1, budget / 4) > budget) continue;
    uint64_t room = used_bytes >= budget ? 0 : budget - used_bytes;
    bool may_exceed = used_bytes == 0;
    // Round robin over the member's partitions until credits, bytes or work
    // run out. Each partition gets a fair share of both per turn; once no
    // partition's next message fits its byte share, the whole room is offered.
    bool split_bytes = true;
    size_t turn = rotation_;
    while (credits > 0 && (room > 0 || may_exceed)) {
      bool progress = false;
      const size_t n = member.partitions.size();
      const uint64_t byte_share = split_bytes ? std::max<uint64_t>(1, (room + n - 1) / n) : room;
      for (size_t i = 0; i < member.partitions.size() && credits > 0 && (room > 0 || may_exceed);
           ++i) {
        const uint32_t p = member.partitions[(turn + i) % member.partitions.size()];
        if (p >= cursors_.size() || p >= high_watermarks.size()) continue;
        std::vector<DeadLetter> letters;
        // A fair share of the credits per partition and turn.
        const size_t share = std::max<size_t>(1, (credits + n - 1) / n);
        TakeLimits limits;
        limits.max_messages = std::min({credits, share, kChunk});
        limits.max_bytes = std::min(byte_share, room);
        limits.first_may_exceed = may_exceed;
        MessageSize sizes;
        if (size_of) sizes = [&size_of, p](uint64_t offset) { return size_of(p, offset); };
        auto taken =
            cursors_[p].Take(member.id, limits, high_watermarks[p], now_ms, sizes, &letters);
        for (auto& l : letters) dead_letters->push_back({p, std::move(l)});
        if (taken.empty()) continue;
        progress = true;
        may_exceed = false;
        credits -= taken.size();
        for (const Delivery& d : taken) room = d.bytes >= room ? 0 : room - d.bytes;
        if (!pushes.empty() && pushes.back().member == member.id && pushes.back().partition == p) {
          auto& d = pushes.back().deliveries;
          d.insert(d.end(), taken.begin(), taken.end());
        } else {
          pushes.push_back({member.id, member.connection, p, std::move(taken)});
        }
      }
      if (!progress) {
        if (!split_bytes || !size_of) break;
        split_bytes = false;
        continue;
      }
      ++turn;
    }
  }
  return pushes;
}

bool GroupCoordinator::Tick(int64_t now_ms, std::vector<PartitionDeadLetter>* dead_letters) {
  std::vector<std::string> expired;
  for (const auto& [id, m] : members_) {
    if (now_ms - m.last_seen_ms > m.session_timeout_ms) expired.push_back(id);
  }
  for (const std::string& id : expired) {
    members_.erase(id);
    Release(id, now_ms, dead_letters);
  }
  if (!expired.empty()) Rebalance();
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  for (uint32_t p = 0; p < cursors_.size(); ++p) {
    std::vector<DeadLetter> letters;
    cursors_[p].Tick(now_ms, jitter(rng_), &letters);
    for (auto& l : letters) dead_letters->push_back({p, std::move(l)});
  }
  return !expired.empty();
}

int64_t GroupCoordinator::NextDeadline(int64_t now_ms) const {
  int64_t next = std::numeric_limits<int64_t>::max();
  for (const auto& [id, m] : members_) {
    next = std::min(next, m.last_seen_ms + m.session_timeout_ms + 1);
  }
  for (const DeliveryCursor& cursor : cursors_) next = std::min(next, cursor.NextDeadline(now_ms));
  return next;
}

void GroupCoordinator::AddPartitions(std::vector<DeliveryCursor> cursors) {
  for (auto& c : cursors) cursors_.push_back(std::move(c));
  Rebalance();
}

}  // namespace sprawl::broker
