#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sprawl::replication {

// The leader's view of one follower's log, and how it sends to it:
//  probe:     one append per heartbeat interval until the follower's match is found
//  replicate: appends pipelined optimistically, at most `max_inflight` unacknowledged
//  snapshot:  a snapshot is on its way; nothing else is sent until it is acknowledged
class Progress {
 public:
  enum class State : uint8_t { kProbe, kReplicate, kSnapshot };

  // The window is allocated here, once: sending never allocates.
  Progress(uint64_t next, size_t max_inflight);

  uint64_t match() const { return match_; }
  uint64_t next() const { return next_; }
  State state() const { return state_; }
  bool recent_active() const { return recent_active_; }
  void set_recent_active(bool active) { recent_active_ = active; }
  uint64_t pending_snapshot() const { return pending_snapshot_; }
  size_t inflight() const { return count_; }

  // Whether the leader must wait before sending more entries.
  bool Paused() const;

  void BecomeProbe();
  void BecomeReplicate();
  void BecomeSnapshot(uint64_t snapshot_index);

  // An append carrying entries up to `last` was sent.
  void SentEntries(uint64_t last);
  // An append (possibly empty) was sent in probe state: wait for an answer or a heartbeat.
  void SentProbe() { probe_sent_ = true; }
  // A heartbeat answer: a probe may go again, and a full window frees its oldest slot.
  void OnHeartbeatResponse();

  // An accepted append up to `index`; false when it tells nothing new.
  bool MaybeUpdate(uint64_t index);
  // A rejected append at `rejected`; `hint` is the highest index that may
  // match. False for a stale rejection.
  bool MaybeDecrTo(uint64_t rejected, uint64_t hint);

 private:
  void FreeUpTo(uint64_t index);
  void ResetWindow() { start_ = count_ = 0; }

  uint64_t match_ = 0;
  uint64_t next_ = 1;
  State state_ = State::kProbe;
  bool probe_sent_ = false;
  bool recent_active_ = false;
  uint64_t pending_snapshot_ = 0;
  // A ring of the last index of each unacknowledged append, oldest first.
  std::vector<uint64_t> window_;
  size_t start_ = 0;
  size_t count_ = 0;
};

}  // namespace sprawl::replication
