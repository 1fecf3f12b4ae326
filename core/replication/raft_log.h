#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "core/replication/entry.h"

namespace sprawl::replication {

// The in-memory Raft log of one group: the entries after the last snapshot,
// and which of them have been handed out for persistence. Indexes start at
// 1; the snapshot stands for every index up to snapshot_index().
class RaftLog {
 public:
  RaftLog() = default;
  // A log restored from what was persisted: the snapshot point and the
  // entries after it (contiguous, starting at snapshot_index + 1).
  RaftLog(uint64_t snapshot_index, uint64_t snapshot_term, std::vector<Entry> entries);

  uint64_t snapshot_index() const { return snapshot_index_; }
  uint64_t snapshot_term() const { return snapshot_term_; }
  uint64_t first_index() const { return snapshot_index_ + 1; }
  uint64_t last_index() const { return snapshot_index_ + entries_.size(); }
  uint64_t last_term() const;
  // The term at `index`, or nothing when it is compacted away or not there yet.
  std::optional<uint64_t> Term(uint64_t index) const;
  bool MatchTerm(uint64_t index, uint64_t term) const;
  // Precondition: first_index() <= index <= last_index().
  const Entry& At(uint64_t index) const { return entries_[index - first_index()]; }

  // Whether a log ending at (index, term) is at least as up to date as this one.
  bool IsUpToDate(uint64_t index, uint64_t term) const;

  // Appends `entries` (which follow an entry this log matches), truncating
  // this log at the first entry whose term differs. Entries already present
  // are kept. Returns the index of the last entry of `entries`.
  uint64_t AppendMatching(const std::vector<Entry>& entries);
  // Appends one entry at last_index() + 1.
  void Append(Entry entry);

  // The largest index <= `index` whose term is <= `term` (the fast-backtracking
  // hint); snapshot_index() when none is left in memory.
  uint64_t FindConflictByTerm(uint64_t index, uint64_t term) const;

  // Entries in [lo, hi) into `out`, at most `max_entries` and `max_bytes` of
  // data (always at least one). Precondition: first_index() <= lo.
  void Slice(uint64_t lo, uint64_t hi, size_t max_entries, size_t max_bytes,
             std::vector<Entry>* out) const;

  // Drops every entry up to `index` (covered by a snapshot the caller took).
  // Precondition: snapshot_index() < index <= last_index().
  void Compact(uint64_t index);
  // Replaces the whole log with a snapshot point (an installed snapshot).
  void Restore(uint64_t index, uint64_t term);

  // Persistence bookkeeping: the entries not yet handed out, moved into `out`
  // as copies; and the last index known to be persisted.
  bool HasUnpersisted() const { return unpersisted_from_ <= last_index(); }
  void TakeUnpersisted(std::vector<Entry>* out);
  // Marks entries handed out up to `index` as persisted.
  void MarkPersisted(uint64_t index);
  uint64_t persisted_index() const { return persisted_; }

 private:
  void TruncateFrom(uint64_t index);

  uint64_t snapshot_index_ = 0;
  uint64_t snapshot_term_ = 0;
  std::deque<Entry> entries_;
  uint64_t unpersisted_from_ = 1;  // first index not yet handed out
  uint64_t handed_out_ = 0;        // last index handed out and not truncated since
  uint64_t persisted_ = 0;         // last index persisted and not truncated since
};

}  // namespace sprawl::replication
