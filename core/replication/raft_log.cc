#include "core/replication/raft_log.h"

#include <algorithm>
#include <cassert>

namespace sprawl::replication {

RaftLog::RaftLog(uint64_t snapshot_index, uint64_t snapshot_term, std::vector<Entry> entries)
    : snapshot_index_(snapshot_index), snapshot_term_(snapshot_term) {
  for (Entry& e : entries) entries_.push_back(std::move(e));
  unpersisted_from_ = last_index() + 1;
  handed_out_ = last_index();
  persisted_ = last_index();
}

uint64_t RaftLog::last_term() const {
  return entries_.empty() ? snapshot_term_ : entries_.back().term;
}

std::optional<uint64_t> RaftLog::Term(uint64_t index) const {
  if (index == snapshot_index_) return snapshot_term_;
  if (index < snapshot_index_ || index > last_index()) return std::nullopt;
  return At(index).term;
}

bool RaftLog::MatchTerm(uint64_t index, uint64_t term) const {
  const auto t = Term(index);
  return t && *t == term;
}

bool RaftLog::IsUpToDate(uint64_t index, uint64_t term) const {
  return term > last_term() || (term == last_term() && index >= last_index());
}

uint64_t RaftLog::AppendMatching(const std::vector<Entry>& entries) {
  if (entries.empty()) return 0;
  size_t i = 0;
  // Skip what is already here (a duplicate or reordered append); entries at
  // or below the snapshot are committed and so already agree.
  for (; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (e.index <= snapshot_index_) continue;
    if (e.index > last_index()) break;
    if (At(e.index).term != e.term) {
      TruncateFrom(e.index);
      break;
    }
  }
  for (; i < entries.size(); ++i) {
    if (entries[i].index <= snapshot_index_) continue;
    assert(entries[i].index == last_index() + 1);
    entries_.push_back(entries[i]);
  }
  return entries.back().index;
}

void RaftLog::Append(Entry entry) {
  assert(entry.index == last_index() + 1);
  entries_.push_back(std::move(entry));
}

uint64_t RaftLog::FindConflictByTerm(uint64_t index, uint64_t term) const {
  index = std::min(index, last_index());
  while (index > snapshot_index_ && At(index).term > term) --index;
  return index;
}

void RaftLog::Slice(uint64_t lo, uint64_t hi, size_t max_entries, size_t max_bytes,
                    std::vector<Entry>* out) const {
  assert(lo >= first_index());
  size_t bytes = 0;
  for (uint64_t i = lo; i < hi && i <= last_index(); ++i) {
    const Entry& e = At(i);
    if (!out->empty() && (out->size() >= max_entries || bytes + e.data.size() > max_bytes)) break;
    bytes += e.data.size();
    out->push_back(e);
  }
}

void RaftLog::Compact(uint64_t index) {
  assert(index > snapshot_index_ && index <= last_index());
  snapshot_term_ = At(index).term;
  entries_.erase(entries_.begin(),
                 entries_.begin() + static_cast<ptrdiff_t>(index - snapshot_index_));
  snapshot_index_ = index;
  unpersisted_from_ = std::max(unpersisted_from_, index + 1);
}

void RaftLog::Restore(uint64_t index, uint64_t term) {
  entries_.clear();
  snapshot_index_ = index;
  snapshot_term_ = term;
  unpersisted_from_ = index + 1;
  handed_out_ = index;
  persisted_ = index;
}

void RaftLog::TruncateFrom(uint64_t index) {
  assert(index > snapshot_index_);
  entries_.erase(entries_.begin() + static_cast<ptrdiff_t>(index - first_index()), entries_.end());
  unpersisted_from_ = std::min(unpersisted_from_, index);
  handed_out_ = std::min(handed_out_, index - 1);
  persisted_ = std::min(persisted_, index - 1);
}

void RaftLog::TakeUnpersisted(std::vector<Entry>* out) {
  for (uint64_t i = std::max(unpersisted_from_, first_index()); i <= last_index(); ++i) {
    out->push_back(At(i));
  }
  unpersisted_from_ = last_index() + 1;
  handed_out_ = last_index();
}

void RaftLog::MarkPersisted(uint64_t index) {
  // A truncation after the hand-out lowers handed_out_, so a persist of
  // entries that were since replaced never counts.
  persisted_ = std::max(persisted_, std::min(index, handed_out_));
}

}  // namespace sprawl::replication
