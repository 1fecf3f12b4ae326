#include "core/broker/delivery_cursor.h"

#include <algorithm>
#include <limits>

#include "core/util/byte_io.h"

namespace sprawl::broker {

DeliveryCursor::DeliveryCursor(uint64_t start_offset, CursorConfig config)
    : config_(config), floor_(start_offset), next_(start_offset) {}

DeliveryCursor::DeliveryCursor(const CursorCheckpoint& c, CursorConfig config)
    : config_(config),
      floor_(c.ack_floor),
      next_(c.next_offset),
      dead_lettered_(c.dead_lettered),
      expired_(c.expired) {
  // A decoded checkpoint names every offset of [floor, next) exactly once;
  // one that does not (built by hand) has its unnamed offsets redelivered.
  entries_.assign(next_ - floor_, Entry{State::kWaiting, 0, kNoMember, 0});
  for (uint64_t offset : c.acked) {
    if (Find(offset) != nullptr) At(offset).state = State::kSettled;
  }
  for (const auto& [offset, count] : c.delivery_counts) {
    if (Find(offset) != nullptr) At(offset).count = count;
  }
  for (uint64_t offset = floor_; offset < next_; ++offset) {
    if (At(offset).state == State::kWaiting) waiting_.insert({0, offset});
  }
  AdvanceFloor();
}

DeliveryCursor::Entry* DeliveryCursor::Find(uint64_t offset) {
  return offset >= floor_ && offset < next_ ? &At(offset) : nullptr;
}

const DeliveryCursor::Entry* DeliveryCursor::Find(uint64_t offset) const {
  return offset >= floor_ && offset < next_ ? &entries_[offset - floor_] : nullptr;
}

uint32_t DeliveryCursor::MemberIndex(const std::string& member) {
  auto it = member_index_.find(member);
  if (it != member_index_.end()) return it->second;
  uint32_t index;
  if (!free_member_slots_.empty()) {
    index = free_member_slots_.back();
    free_member_slots_.pop_back();
    members_[index] = MemberSlot{member, 0, 0};
  } else {
    index = static_cast<uint32_t>(members_.size());
    members_.push_back(MemberSlot{member, 0, 0});
  }
  member_index_.emplace(member, index);
  return index;
}

bool DeliveryCursor::Exhausted(const Entry& entry) const {
  return config_.max_deliveries > 0 && entry.count >= config_.max_deliveries;
}

std::vector<Delivery> DeliveryCursor::Take(const std::string& member, size_t max,
                                           uint64_t high_watermark, int64_t now_ms,
                                           std::vector<DeadLetter>* dead_letters) {
  TakeLimits limits;
  limits.max_messages = max;
  return Take(member, limits, high_watermark, now_ms, nullptr, dead_letters);
}

std::vector<Delivery> DeliveryCursor::Take(const std::string& member, const TakeLimits& limits,
                                           uint64_t high_watermark, int64_t now_ms,
                                           const MessageSize& size_of,
                                           std::vector<DeadLetter>* dead_letters) {
  std::vector<Delivery> out;
  const int64_t deadline = now_ms + config_.ack_timeout_ms;
  const uint32_t member_index = MemberIndex(member);
  uint64_t bytes = 0;  // taken so far
  // Whether the message of `size` bytes fits what is left of the byte budget.
  auto fits = [&](uint32_t size) {
    if (bytes + size <= limits.max_bytes) return true;
    return out.empty() && limits.first_may_exceed;
  };
  while (out.size() < limits.max_messages && !waiting_.empty() &&
         waiting_.begin()->first <= now_ms) {
    const uint64_t offset = waiting_.begin()->second;
    Entry& e = At(offset);
    if (Exhausted(e)) {
      waiting_.erase(waiting_.begin());
      // Only after a restart (or a lowered max_deliveries): its last delivery
      // was in flight when the checkpoint was taken.
      e.state = State::kDeadLettering;
      dead_letters->push_back({offset, e.count,
                               "delivered " + std::to_string(e.count) + " times of " +
                                   std::to_string(config_.max_deliveries) + " without an ack"});
      continue;
    }
    const uint32_t size = size_of ? size_of(offset) : 0;
    if (!fits(size)) break;
    waiting_.erase(waiting_.begin());
    e.state = State::kInFlight;
    ++e.count;
    e.member = member_index;
    e.bytes = size;
    e.time_ms = deadline;
    AddInFlight(offset, e);
    ++redelivered_;
    bytes += size;
    out.push_back({offset, e.count, size});
  }
  // New offsets only once every due redelivery went out: they come first.
  const bool redeliveries_wait = !waiting_.empty() && waiting_.begin()->first <= now_ms;
  while (!redeliveries_wait && out.size() < limits.max_messages && next_ < high_watermark &&
         next_ - floor_ < config_.max_window) {
    const uint32_t size = size_of ? size_of(next_) : 0;
    if (!fits(size)) break;
    entries_.push_back(Entry{State::kInFlight, 1, member_index, size, deadline});
    AddInFlight(next_, entries_.back());
    bytes += size;
    out.push_back({next_, 1, size});
    ++next_;
  }
  if (members_[member_index].in_flight == 0) FreeMemberSlot(member_index);  // took nothing
  return out;
}

Status DeliveryCursor::Ack(uint64_t offset) {
  Entry* e = Find(offset);
  if (e == nullptr || (e->state != State::kInFlight && e->state != State::kWaiting)) {
    return NotFound("offset " + std::to_string(offset) + " is not awaiting an ack");
  }
  // A late ack of a timed-out delivery still counts: the work was done, and
  // redelivering it would only repeat it.
  if (e->state == State::kInFlight) {
    RemoveInFlight(offset, *e);
  } else {
    waiting_.erase({e->time_ms, offset});
  }
  Settle(offset, *e);
  return Status::Ok();
}

Status DeliveryCursor::Nack(uint64_t offset, int64_t delay_ms, int64_t now_ms,
                            std::vector<DeadLetter>* dead_letters) {
  Entry* e = Find(offset);
  if (e == nullptr || e->state != State::kInFlight) {
    return NotFound("offset " + std::to_string(offset) + " is not in flight");
  }
  RemoveInFlight(offset, *e);
  if (Exhausted(*e)) {
    e->state = State::kDeadLettering;
    dead_letters->push_back({offset, e->count,
                             "nacked on delivery " + std::to_string(e->count) + " of " +
                                 std::to_string(config_.max_deliveries)});
    return Status::Ok();
  }
  ToWaiting(offset, *e, now_ms + std::max<int64_t>(delay_ms, 0));
  return Status::Ok();
}

void DeliveryCursor::Expire(uint64_t offset) {
  Entry* e = Find(offset);
  if (e == nullptr || e->state == State::kSettled) return;
  if (e->state == State::kInFlight) RemoveInFlight(offset, *e);
  if (e->state == State::kWaiting) waiting_.erase({e->time_ms, offset});
  ++expired_;
  Settle(offset, *e);
}

void DeliveryCursor::CompleteDeadLetter(uint64_t offset) {
  Entry* e = Find(offset);
  if (e == nullptr || e->state != State::kDeadLettering) return;
  ++dead_lettered_;
  Settle(offset, *e);
}

void DeliveryCursor::Tick(int64_t now_ms, double jitter, std::vector<DeadLetter>* dead_letters) {
  while (!in_flight_.empty() && in_flight_.begin()->first <= now_ms) {
    const uint64_t offset = in_flight_.begin()->second;
    Entry& e = At(offset);
    RemoveInFlight(offset, e);
    if (Exhausted(e)) {
      e.state = State::kDeadLettering;
      dead_letters->push_back({offset, e.count,
                               "not acknowledged within " + std::to_string(config_.ack_timeout_ms) +
                                   " ms on delivery " + std::to_string(e.count) + " of " +
                                   std::to_string(config_.max_deliveries)});
      continue;
    }
    const int shift = static_cast<int>(std::min<uint32_t>(e.count - 1, 30));
    const int64_t backoff = std::min(config_.backoff_max_ms, config_.backoff_base_ms << shift);
    ToWaiting(offset, e, now_ms + backoff / 2 + static_cast<int64_t>(jitter * (backoff / 2)));
  }
}

void DeliveryCursor::Release(const std::string& member, int64_t now_ms,
                             std::vector<DeadLetter>* dead_letters) {
  auto index = member_index_.find(member);
  if (index == member_index_.end()) return;
  const uint32_t member_index = index->second;
  std::vector<uint64_t> released;
  for (const auto& item : in_flight_) {
    if (At(item.second).member == member_index) released.push_back(item.second);
  }
  for (uint64_t offset : released) {
    Entry& e = At(offset);
    RemoveInFlight(offset, e);
    if (Exhausted(e)) {
      e.state = State::kDeadLettering;
      dead_letters->push_back({offset, e.count,
                               "its member left or expired on delivery " + std::to_string(e.count) +
                                   " of " + std::to_string(config_.max_deliveries)});
      continue;
    }
    ToWaiting(offset, e, now_ms);
  }
}

void DeliveryCursor::OnLogStart(uint64_t first_offset) {
  if (first_offset <= floor_) return;
  while (!entries_.empty() && floor_ < first_offset) {
    Entry& e = entries_.front();
    if (e.state == State::kInFlight) RemoveInFlight(floor_, e);
    if (e.state == State::kWaiting) waiting_.erase({e.time_ms, floor_});
    entries_.pop_front();
    ++floor_;
  }
  floor_ = first_offset;
  next_ = std::max(next_, first_offset);
  AdvanceFloor();
}

void DeliveryCursor::Reset(uint64_t offset) {
  entries_.clear();
  in_flight_.clear();
  members_.clear();
  member_index_.clear();
  free_member_slots_.clear();
  waiting_.clear();
  floor_ = next_ = offset;
}

void DeliveryCursor::ToWaiting(uint64_t offset, Entry& e, int64_t due_ms) {
  e.state = State::kWaiting;
  e.time_ms = due_ms;
  waiting_.insert({due_ms, offset});
}

void DeliveryCursor::Settle(uint64_t offset, Entry& e) {
  (void)offset;
  e.state = State::kSettled;
  AdvanceFloor();
}

void DeliveryCursor::AdvanceFloor() {
  while (!entries_.empty() && entries_.front().state == State::kSettled) {
    entries_.pop_front();
    ++floor_;
  }
}

int64_t DeliveryCursor::NextDeadline(int64_t now_ms) const {
  int64_t next = std::numeric_limits<int64_t>::max();
  if (!in_flight_.empty()) next = in_flight_.begin()->first;
  // Redeliveries that were already due when deliveries were last planned wait
  // for credits, which an ack or a join brings (and which plan again); only
  // later ones need a timer, or the loop would spin on them.
  (void)now_ms;
  auto due = waiting_.upper_bound({planned_ms_, std::numeric_limits<uint64_t>::max()});
  if (due != waiting_.end()) next = std::min(next, due->first);
  return next;
}

bool DeliveryCursor::HasDueRedelivery(int64_t now_ms) const {
  return !waiting_.empty() && waiting_.begin()->first <= now_ms;
}

uint32_t DeliveryCursor::in_flight_to(const std::string& member) const {
  auto it = member_index_.find(member);
  return it == member_index_.end() ? 0 : members_[it->second].in_flight;
}

uint64_t DeliveryCursor::in_flight_bytes_to(const std::string& member) const {
  auto it = member_index_.find(member);
  return it == member_index_.end() ? 0 : members_[it->second].in_flight_bytes;
}

void DeliveryCursor::AddInFlight(uint64_t offset, const Entry& e) {
  in_flight_.insert({e.time_ms, offset});
  ++members_[e.member].in_flight;
  members_[e.member].in_flight_bytes += e.bytes;
}

void DeliveryCursor::RemoveInFlight(uint64_t offset, Entry& e) {
  in_flight_.erase({e.time_ms, offset});
  members_[e.member].in_flight_bytes -= e.bytes;
  if (--members_[e.member].in_flight == 0) FreeMemberSlot(e.member);
  e.member = kNoMember;
  e.bytes = 0;
}

void DeliveryCursor::FreeMemberSlot(uint32_t index) {
  member_index_.erase(members_[index].id);
  members_[index].id.clear();
  free_member_slots_.push_back(index);
}

std::string DeliveryCursor::owner(uint64_t offset) const {
  const Entry* e = Find(offset);
  if (e == nullptr || e->state != State::kInFlight) return "";
  return members_[e->member].id;
}

CursorCheckpoint DeliveryCursor::Checkpoint() const {
  CursorCheckpoint c;
  c.ack_floor = floor_;
  c.next_offset = next_;
  c.dead_lettered = dead_lettered_;
  c.expired = expired_;
  uint64_t offset = floor_;
  for (const Entry& e : entries_) {
    if (e.state == State::kSettled) {
      c.acked.push_back(offset);
    } else {
      c.delivery_counts.push_back({offset, e.count});
    }
    ++offset;
  }
  return c;
}

namespace {
constexpr uint8_t kCheckpointVersion = 1;
// Far above any configured window; bounds what a corrupt checkpoint can make
// a node allocate.
constexpr uint64_t kMaxCheckpointWindow = 10'000'000;
}  // namespace

std::string EncodeCheckpoint(const CursorCheckpoint& c) {
  std::string out;
  ByteWriter w(&out);
  w.U8(kCheckpointVersion);
  w.VarU64(c.ack_floor);
  w.VarU64(c.next_offset - c.ack_floor);
  w.VarU64(c.dead_lettered);
  w.VarU64(c.expired);
  w.VarU64(c.acked.size());
  uint64_t prev = c.ack_floor;
  for (uint64_t offset : c.acked) {
    w.VarU64(offset - prev);
    prev = offset;
  }
  w.VarU64(c.delivery_counts.size());
  prev = c.ack_floor;
  for (const auto& [offset, count] : c.delivery_counts) {
    w.VarU64(offset - prev);
    w.VarU64(count);
    prev = offset;
  }
  return out;
}

Result<CursorCheckpoint> DecodeCheckpoint(std::string_view bytes) {
  ByteReader r(bytes);
  auto corrupt = [](const std::string& why) {
    return DataCorruption("group cursor checkpoint: " + why);
  };
  uint8_t version = 0;
  if (!r.U8(&version)) return corrupt("empty");
  if (version > kCheckpointVersion) {
    return UnsupportedVersion("group cursor checkpoint has version " + std::to_string(version) +
                              "; this build reads up to " + std::to_string(kCheckpointVersion));
  }
  if (version == 0) return corrupt("version 0");
  CursorCheckpoint c;
  uint64_t span = 0;
  uint64_t acked = 0;
  uint64_t counts = 0;
  if (!r.VarU64(&c.ack_floor) || !r.VarU64(&span) || !r.VarU64(&c.dead_lettered) ||
      !r.VarU64(&c.expired) || !r.VarU64(&acked)) {
    return corrupt("truncated header");
  }
  if (span > kMaxCheckpointWindow || c.ack_floor > std::numeric_limits<uint64_t>::max() - span) {
    return corrupt("window of " + std::to_string(span) + " offsets is out of range");
  }
  c.next_offset = c.ack_floor + span;
  // Each entry takes at least one byte: a length beyond what is left is a lie.
  if (acked > r.remaining()) return corrupt("more acked offsets than bytes");
  uint64_t prev = c.ack_floor;
  for (uint64_t i = 0; i < acked; ++i) {
    uint64_t delta = 0;
    if (!r.VarU64(&delta)) return corrupt("truncated acked offsets");
    if ((i > 0 && delta == 0) || delta >= c.next_offset - prev) {
      return corrupt("acked offsets are not ascending inside the window");
    }
    prev += delta;
    c.acked.push_back(prev);
  }
  if (!r.VarU64(&counts)) return corrupt("truncated delivery counts");
  if (counts > r.remaining()) return corrupt("more delivery counts than bytes");
  prev = c.ack_floor;
  for (uint64_t i = 0; i < counts; ++i) {
    uint64_t delta = 0;
    uint64_t count = 0;
    if (!r.VarU64(&delta) || !r.VarU64(&count)) return corrupt("truncated delivery counts");
    if ((i > 0 && delta == 0) || delta >= c.next_offset - prev) {
      return corrupt("delivery counts are not ascending inside the window");
    }
    if (count == 0 || count > std::numeric_limits<uint32_t>::max()) {
      return corrupt("delivery count " + std::to_string(count) + " is out of range");
    }
    prev += delta;
    c.delivery_counts.push_back({prev, static_cast<uint32_t>(count)});
  }
  if (r.remaining() != 0) return corrupt(std::to_string(r.remaining()) + " bytes left over");
  // Every offset of the window is either acked or has a count, never both.
  if (c.acked.size() + c.delivery_counts.size() != span) {
    return corrupt("the window has " + std::to_string(span) + " offsets but " +
                   std::to_string(c.acked.size() + c.delivery_counts.size()) + " entries");
  }
  size_t a = 0;
  size_t d = 0;
  while (a < c.acked.size() && d < c.delivery_counts.size()) {
    if (c.acked[a] == c.delivery_counts[d].first) return corrupt("an offset is acked and counted");
    c.acked[a] < c.delivery_counts[d].first ? ++a : ++d;
  }
  return c;
}

}  // namespace sprawl::broker
