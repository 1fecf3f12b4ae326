#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/broker/delivery_cursor.h"

namespace sprawl::broker {

// A member's byte budget unless its join says otherwise (as
// protocol::kDefaultMaxInFlightBytes; this module does not depend on the protocol).
inline constexpr uint64_t kDefaultMaxInFlightBytes = 8u << 20;

struct GroupMember {
  std::string id;
  std::string client_name;
  std::string connection;  // where deliveries are pushed
  int64_t session_timeout_ms = 10'000;
  uint32_t max_in_flight = 100;
  // Byte budget: the unsettled deliveries' bytes at most, except one message
  // larger than it, which goes out alone.
  uint64_t max_in_flight_bytes = kDefaultMaxInFlightBytes;
  int64_t last_seen_ms = 0;
  std::vector<uint32_t> partitions;
};

// Deliveries to push to one member from one partition.
struct Push {
  std::string member;
  std::string connection;
  uint32_t partition = 0;
  std::vector<Delivery> deliveries;
};

struct PartitionDeadLetter {
  uint32_t partition = 0;
  DeadLetter letter;
};

// One consumer group of one topic: its members with their sessions and
// credits, the sticky assignment of partitions to them, and one delivery
// cursor per partition. A pure state machine: the broker feeds it requests,
// high watermarks and the time, and carries out what it returns.
class GroupCoordinator {
 public:
  // `cursors` holds one cursor per partition. `seed` drives member ids and jitter.
  GroupCoordinator(std::string topic, std::string group, std::vector<DeliveryCursor> cursors,
                   uint64_t seed);

  // Adds a member (a new id when `member_id` is empty or unknown) or renews
  // a known one, and rebalances. Returns the member as it now is.
  const GroupMember& Join(const std::string& member_id, const std::string& client_name,
                          const std::string& connection, int64_t session_timeout_ms,
                          uint32_t max_in_flight, int64_t now_ms,
                          uint64_t max_in_flight_bytes = kDefaultMaxInFlightBytes);
  // Renews a member's session. UNKNOWN_MEMBER when it is not (or no longer) a member.
  Result<const GroupMember*> Heartbeat(const std::string& member_id, const std::string& connection,
                                       int64_t now_ms);
  // Removes a member: what it had in flight is redelivered to others.
  Status Leave(const std::string& member_id, int64_t now_ms,
               std::vector<PartitionDeadLetter>* dead_letters);

  // Settles deliveries. A member may settle what is in flight to it even
  // after its partition moved. UNKNOWN_MEMBER for a stranger; NOT_FOUND (per
  // entry, counted in `unknown`) for an offset not awaiting its ack.
  Status Ack(const std::string& member_id, uint32_t partition, uint64_t offset);
  Status Nack(const std::string& member_id, uint32_t partition, uint64_t offset, int64_t delay_ms,
              int64_t now_ms, std::vector<PartitionDeadLetter>* dead_letters);

  // What to push now: each member receives from its partitions up to its
  // free credits and free byte budget, fairly across partitions.
  // `high_watermarks[p]` bounds new offsets of partition p; `size_of` says
  // what a message counts against the byte budget (nullptr: nothing, the
  // budget then never limits).
  using PartitionMessageSize = std::function<uint32_t(uint32_t partition, uint64_t offset)>;
  std::vector<Push> Plan(const std::vector<uint64_t>& high_watermarks, int64_t now_ms,
                         std::vector<PartitionDeadLetter>* dead_letters,
                         const PartitionMessageSize& size_of = nullptr);

  // Expires sessions (rebalancing) and ack deadlines (redelivery or dead
  // letters). Returns whether the membership changed.
  bool Tick(int64_t now_ms, std::vector<PartitionDeadLetter>* dead_letters);
  // When Tick or Plan next has time-driven work; INT64_MAX when none.
  int64_t NextDeadline(int64_t now_ms) const;

  // Adds cursors for new partitions (the topic grew) and rebalances.
  void AddPartitions(std::vector<DeliveryCursor> cursors);

  const std::string& topic() const { return topic_; }
  const std::string& group() const { return group_; }
  uint64_t generation() const { return generation_; }
  const std::map<std::string, GroupMember>& members() const { return members_; }
  std::vector<DeliveryCursor>& cursors() { return cursors_; }
  const std::vector<DeliveryCursor>& cursors() const { return cursors_; }
  uint32_t InFlight(const GroupMember& member) const;
  uint64_t InFlightBytes(const GroupMember& member) const;

 private:
  void Rebalance();
  void Release(const std::string& member_id, int64_t now_ms,
               std::vector<PartitionDeadLetter>* dead_letters);
  GroupMember* Find(const std::string& member_id);

  std::string topic_;
  std::string group_;
  std::vector<DeliveryCursor> cursors_;
  std::map<std::string, GroupMember> members_;
  uint64_t generation_ = 0;
  uint64_t member_counter_ = 0;
  size_t rotation_ = 0;  // where the next Plan starts, for fairness
  std::mt19937_64 rng_;
};

}  // namespace sprawl::broker
