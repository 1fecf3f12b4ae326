#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/util/result.h"

namespace sprawl::broker {

// Redelivery policy of a group's partition (from the topic's config).
struct CursorConfig {
  int64_t ack_timeout_ms = 30'000;
  uint32_t max_deliveries = 0;  // 0 = redeliver forever
  // Redelivery after a timeout waits base * 2^(deliveries - 1), capped, with
  // "equal jitter": half of it fixed, the other half random.
  int64_t backoff_base_ms = 100;
  int64_t backoff_max_ms = 30'000;
  // At most this many offsets between the ack floor and the next new
  // offset: a stuck message cannot make the cursor's memory grow unbounded.
  uint64_t max_window = 100'000;
};

struct Delivery {
  uint64_t offset = 0;
  uint32_t delivery_count = 0;  // including this one
  uint32_t bytes = 0;           // what the message counts against its member's byte budget
};

// How much one Take may hand out.
struct TakeLimits {
  size_t max_messages = 0;
  // The bytes the taken messages may add up to (each counted as Take's
  // `size_of` says).
  uint64_t max_bytes = std::numeric_limits<uint64_t>::max();
  // Whether the first message is taken even when it alone exceeds max_bytes:
  // set when nothing else is in flight to the member, so that a message
  // larger than the budget is delivered alone instead of never.
  bool first_may_exceed = false;
};

// The bytes a message at an offset counts for; 0 when unknown.
using MessageSize = std::function<uint32_t(uint64_t offset)>;

// A message that ran out of deliveries: to be moved to the dead letter topic.
struct DeadLetter {
  uint64_t offset = 0;
  uint32_t deliveries = 0;
  std::string reason;
};

// The durable part of a cursor (what a checkpoint holds).
struct CursorCheckpoint {
  uint64_t ack_floor = 0;
  uint64_t next_offset = 0;
  std::vector<uint64_t> acked;  // settled offsets above the floor, ascending
  std::vector<std::pair<uint64_t, uint32_t>> delivery_counts;  // unsettled, ascending
  uint64_t dead_lettered = 0;
  uint64_t expired = 0;

  friend bool operator==(const CursorCheckpoint&, const CursorCheckpoint&) = default;
};

// One consumer group's position in one partition: every offset below the
// ack floor is settled (acked, dead-lettered, expired or removed by
// retention); every offset in [floor, next) was delivered at least once and
// is in flight to a member, waiting for redelivery, being dead-lettered, or
// settled out of order. A pure state machine: time comes in as `now_ms`.
class DeliveryCursor {
 public:
  DeliveryCursor(uint64_t start_offset, CursorConfig config);
  // Restores a checkpoint (as DecodeCheckpoint returns it): offsets that were
  // in flight are due again at once, with their delivery counts kept.
  DeliveryCursor(const CursorCheckpoint& checkpoint, CursorConfig config);

  // Up to `max` offsets to deliver now to `member`: due redeliveries first,
  // then new offsets below `high_watermark`. They are in flight from here on.
  // A due offset that has used up its deliveries goes to `dead_letters`.
  std::vector<Delivery> Take(const std::string& member, size_t max, uint64_t high_watermark,
                             int64_t now_ms, std::vector<DeadLetter>* dead_letters);
  // The same within `limits`, stopping at the first offset that does not fit
  // (offsets are never skipped). Each taken offset counts `size_of(offset)`
  // bytes against `member` until it is settled, nacked, timed out or released.
  std::vector<Delivery> Take(const std::string& member, const TakeLimits& limits,
                             uint64_t high_watermark, int64_t now_ms, const MessageSize& size_of,
                             std::vector<DeadLetter>* dead_letters);

  // Settles an in-flight offset. NOT_FOUND when it is not in flight (already
  // settled, timed out and waiting, or never delivered): nothing changes.
  Status Ack(uint64_t offset);
  // Sends an in-flight offset back for redelivery after `delay_ms`, or to the
  // dead letter list when it has used up its deliveries.
  Status Nack(uint64_t offset, int64_t delay_ms, int64_t now_ms,
              std::vector<DeadLetter>* dead_letters);
  // Settles an offset the broker found expired (TTL) instead of delivering it.
  void Expire(uint64_t offset);
  // Settles a dead-lettered offset once it is safely in the dead letter topic
  // (or dropped when the topic has none).
  void CompleteDeadLetter(uint64_t offset);

  // Acks past their deadline become redeliveries (with backoff) or dead
  // letters. `jitter` in [0, 1) picks the random half of the backoff.
  void Tick(int64_t now_ms, double jitter, std::vector<DeadLetter>* dead_letters);
  // Every offset in flight to `member` is due for redelivery now, or goes to
  // `dead_letters` when that was its last delivery.
  void Release(const std::string& member, int64_t now_ms, std::vector<DeadLetter>* dead_letters);
  // Offsets below `first_offset` are gone from the log: settle them.
  void OnLogStart(uint64_t first_offset);
  // Moves the cursor to `offset`, forgetting everything (reset-offsets).
  void Reset(uint64_t offset);

  // Records that deliveries were planned at `now_ms`: redeliveries due by
  // then wait for credits rather than for a timer.
  void MarkPlanned(int64_t now_ms) { planned_ms_ = std::max(planned_ms_, now_ms); }
  // The next ack deadline or redelivery time not yet planned; INT64_MAX when none.
  int64_t NextDeadline(int64_t now_ms) const;
  // Whether a Take could return something now (a redelivery is due).
  bool HasDueRedelivery(int64_t now_ms) const;

  // Applies a changed topic configuration to later deliveries.
  void SetConfig(const CursorConfig& config) { config_ = config; }

  uint64_t ack_floor() const { return floor_; }
  uint64_t next_offset() const { return next_; }
  uint32_t in_flight() const { return static_cast<uint32_t>(in_flight_.size()); }
  uint32_t in_flight_to(const std::string& member) const;
  // The bytes (as Take counted them) in flight to `member`.
  uint64_t in_flight_bytes_to(const std::string& member) const;
  uint64_t dead_lettered() const { return dead_lettered_; }
  uint64_t expired() const { return expired_; }
  uint64_t redelivered() const { return redelivered_; }
  // The member an offset is in flight to, or "" when it is not.
  std::string owner(uint64_t offset) const;

  CursorCheckpoint Checkpoint() const;

 private:
  enum class State : uint8_t { kInFlight, kWaiting, kDeadLettering, kSettled };
  static constexpr uint32_t kNoMember = std::numeric_limits<uint32_t>::max();
  struct Entry {
    State state = State::kInFlight;
    uint32_t count = 0;
    uint32_t member = kNoMember;  // index into members_ while in flight
    uint32_t bytes = 0;           // counted against the member while in flight
    int64_t time_ms = 0;          // deadline (in flight) or due time (waiting)
  };

  // The entry of an offset in [floor_, next_), or nullptr outside it.
  Entry* Find(uint64_t offset);
  const Entry* Find(uint64_t offset) const;
  Entry& At(uint64_t offset) { return entries_[offset - floor_]; }
  uint32_t MemberIndex(const std::string& member);  // allocates a slot when new
  void FreeMemberSlot(uint32_t index);
  void AddInFlight(uint64_t offset, const Entry& entry);
  void RemoveInFlight(uint64_t offset, Entry& entry);
  void Settle(uint64_t offset, Entry& entry);
  void AdvanceFloor();
  void ToWaiting(uint64_t offset, Entry& entry, int64_t due_ms);
  bool Exhausted(const Entry& entry) const;

  CursorConfig config_;
  uint64_t floor_;
  uint64_t next_;
  // Every offset in [floor_, next_), in order: entries_[offset - floor_]. A
  // deque, not a map: the window only grows at the back and shrinks at the
  // front, and a delivery then costs no allocation of its own.
  std::deque<Entry> entries_;
  std::set<std::pair<int64_t, uint64_t>> in_flight_;  // (deadline, offset)
  std::set<std::pair<int64_t, uint64_t>> waiting_;    // (due, offset)
  // Members with deliveries in flight, by the index entries hold; a slot is
  // reused once its member has nothing in flight.
  struct MemberSlot {
    std::string id;
    uint32_t in_flight = 0;
    uint64_t in_flight_bytes = 0;
  };
  std::vector<MemberSlot> members_;
  std::unordered_map<std::string, uint32_t> member_index_;
  std::vector<uint32_t> free_member_slots_;
  uint64_t dead_lettered_ = 0;
  uint64_t expired_ = 0;
  uint64_t redelivered_ = 0;
  int64_t planned_ms_ = std::numeric_limits<int64_t>::min();
};

// The stored form of a checkpoint: u8 version 1, then LEB128 varints:
// floor, next - floor, dead_lettered, expired, the number of acked offsets
// and each as a delta from the previous (starting at the floor), the number
// of counts and each (offset delta, count). DATA_CORRUPTION for anything
// malformed, UNSUPPORTED_VERSION for a newer version.
std::string EncodeCheckpoint(const CursorCheckpoint& checkpoint);
Result<CursorCheckpoint> DecodeCheckpoint(std::string_view bytes);

}  // namespace sprawl::broker
