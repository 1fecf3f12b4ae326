#include "core/replication/progress.h"

#include <algorithm>

namespace sprawl::replication {

Progress::Progress(uint64_t next, size_t max_inflight)
    : next_(next), window_(std::max<size_t>(max_inflight, 1)) {}

bool Progress::Paused() const {
  switch (state_) {
    case State::kProbe:
      return probe_sent_;
    case State::kReplicate:
      return count_ == window_.size();
    case State::kSnapshot:
      return true;
  }
  return true;
}

void Progress::BecomeProbe() {
  // After a snapshot, probing resumes from the snapshot on.
  next_ = state_ == State::kSnapshot ? std::max(match_, pending_snapshot_) + 1 : match_ + 1;
  state_ = State::kProbe;
  probe_sent_ = false;
  pending_snapshot_ = 0;
  ResetWindow();
}

void Progress::BecomeReplicate() {
  state_ = State::kReplicate;
  next_ = match_ + 1;
  probe_sent_ = false;
  pending_snapshot_ = 0;
  ResetWindow();
}

void Progress::BecomeSnapshot(uint64_t snapshot_index) {
  state_ = State::kSnapshot;
  pending_snapshot_ = snapshot_index;
  probe_sent_ = false;
  ResetWindow();
}

void Progress::SentEntries(uint64_t last) {
  if (state_ == State::kReplicate) {
    next_ = last + 1;
    window_[(start_ + count_) % window_.size()] = last;
    ++count_;
  } else {
    probe_sent_ = true;
  }
}

void Progress::OnHeartbeatResponse() {
  probe_sent_ = false;
  if (state_ == State::kReplicate && count_ == window_.size()) {
    start_ = (start_ + 1) % window_.size();
    --count_;
  }
}

bool Progress::MaybeUpdate(uint64_t index) {
  bool updated = false;
  if (match_ < index) {
    match_ = index;
    updated = true;
    probe_sent_ = false;
  }
  next_ = std::max(next_, index + 1);
  FreeUpTo(index);
  return updated;
}

bool Progress::MaybeDecrTo(uint64_t rejected, uint64_t hint) {
  if (state_ == State::kReplicate) {
    // Rejections of appends at or below the match are stale.
    if (rejected <= match_) return false;
    next_ = match_ + 1;
    return true;
  }
  // In probe state only the answer to the last probe (at next - 1) counts.
  if (next_ - 1 != rejected) return false;
  next_ = std::max(std::min(rejected, hint + 1), match_ + 1);
  probe_sent_ = false;
  return true;
}

void Progress::FreeUpTo(uint64_t index) {
  while (count_ > 0 && window_[start_] <= index) {
    start_ = (start_ + 1) % window_.size();
    --count_;
  }
}

}  // namespace sprawl::replication
