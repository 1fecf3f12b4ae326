// Recovery of one partition of the disk tier when a store opens.
#include <rocksdb/iterator.h>

#include "core/storage/keys.h"
#include "core/storage/partition_state_codec.h"
#include "core/storage/tiered_partition_log.h"
#include "core/util/logging.h"

namespace sprawl::storage {

// Loads the log start, commit index and the index of sealed segments, then
// re-reads the active (newest) segment batch by batch, rebuilding its entry.
// A segment's entry is written in the same atomic RocksDB write as the batch
// that seals it, so only the active segment's tail can be torn; the tail is
// where a crash or a bad disk shows first. The first batch that fails its
// checksum or structure ends the log: it and everything after it are removed,
// reported, and counted, and the valid prefix stays readable. Older segments
// are verified on every read instead of here, so opening stays fast.
Status TieredPartitionLog::Recover() {
  SPRAWL_ASSIGN_OR_RETURN(auto start, engine_->GetState(keys::PartitionState(id_, "start")));
  if (start) {
    SPRAWL_ASSIGN_OR_RETURN(auto decoded, state_codec::DecodeLogStart(*start));
    first_ = decoded.first_offset;
    prev_term_ = decoded.prev_term;
  }
  SPRAWL_ASSIGN_OR_RETURN(auto commit, engine_->GetState(keys::PartitionState(id_, "commit")));
  if (commit) {
    SPRAWL_ASSIGN_OR_RETURN(commit_, state_codec::DecodeOffset(*commit));
  }

  std::vector<WriteOp> repairs;
  {
    const std::string lower = keys::Offset(id_, 0);
    const std::string upper = keys::PartitionEnd(id_);
    const rocksdb::Slice lower_slice(lower), upper_slice(upper);
    rocksdb::ReadOptions options;
    options.iterate_lower_bound = &lower_slice;
    options.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(engine_->db()->NewIterator(options, engine_->index_cf()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      uint32_t pid = 0;
      uint64_t segment_first = 0;
      if (!keys::ParseOffset(it->key().ToStringView(), &pid, &segment_first) || pid != id_) {
        return DataCorruption("unexpected key in the segment index of " + key_.ToString());
      }
      SPRAWL_ASSIGN_OR_RETURN(auto segment,
                              SegmentInfo::Decode(segment_first, it->value().ToStringView()));
      if (segment.last_offset < first_) {
        // Left behind by an interrupted retention pass; the data is gone.
        repairs.push_back(WriteOp::Delete(engine_->index_cf(), it->key().ToString()));
        continue;
      }
      segments_.Load(segment);
    }
    if (!it->status().ok()) {
      return IoError("reading the segment index of " + key_.ToString() +
                     " failed: " + it->status().ToString());
    }
  }

  // The index holds sealed segments only; rebuild the active one from the
  // batches after the last sealed segment.
  uint64_t scan_from = first_;
  if (!segments_.segments().empty()) {
    scan_from = std::max(first_, segments_.segments().rbegin()->second.last_offset + 1);
  }
  last_term_ =
      segments_.segments().empty() ? prev_term_ : segments_.segments().rbegin()->second.last_term;
  uint64_t expected = scan_from;
  std::optional<uint64_t> cut_at;
  std::string cut_reason;
  {
    const std::string lower = keys::Offset(id_, scan_from);
    const std::string upper = keys::PartitionEnd(id_);
    const rocksdb::Slice lower_slice(lower), upper_slice(upper);
    rocksdb::ReadOptions options;
    options.iterate_lower_bound = &lower_slice;
    options.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(engine_->db()->NewIterator(options, engine_->log_cf()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      uint32_t pid = 0;
      uint64_t key_offset = 0;
      if (!keys::ParseOffset(it->key().ToStringView(), &pid, &key_offset) || pid != id_) {
        cut_at = expected;
        cut_reason = "unexpected key";
        break;
      }
      if (key_offset != expected) {
        cut_at = std::min(key_offset, expected);
        cut_reason = "gap before offset " + std::to_string(key_offset);
        break;
      }
      auto view = RecordBatchView::Parse(it->value().ToStringView());
      Status valid = view.ok() ? view->Validate() : view.status();
      if (valid.ok() && view->base_offset() != key_offset) {
        valid = DataCorruption("batch header offset differs from its key");
      }
      if (valid.ok() && view->term() < last_term_) {
        valid = DataCorruption("batch term goes backwards");
      }
      if (valid.code() == ErrorCode::kUnsupportedVersion) {
        // Written by a newer build: cutting it would destroy good data.
        return valid.WithContext("cannot open " + key_.ToString() + " at offset " +
                                 std::to_string(key_offset));
      }
      if (!valid.ok()) {
        cut_at = key_offset;
        cut_reason = valid.message();
        break;
      }
      segments_.OnAppend(key_offset, view->last_offset(), it->value().size(),
                         view->max_timestamp_ms(), view->term());
      last_term_ = view->term();
      expected = view->last_offset() + 1;
    }
    if (!cut_at && !it->status().ok()) {
      if (!it->status().IsCorruption()) {
        return IoError("reading " + key_.ToString() + " failed: " + it->status().ToString());
      }
      cut_at = expected;
      cut_reason = it->status().ToString();
    }
  }
  next_ = expected;
  if (cut_at) {
    metrics_.corrupt_batches.Increment();
    metrics_.recovery_tail_cuts.Increment();
    log::Error("corrupt tail removed on recovery", {{"topic", key_.topic},
                                                    {"partition", key_.partition},
                                                    {"offset", *cut_at},
                                                    {"error", cut_reason}});
    repairs.push_back(WriteOp::DeleteRange(engine_->log_cf(), keys::Offset(id_, *cut_at),
                                           keys::PartitionEnd(id_)));
  }
  // Persist segments the rebuild sealed; the last one stays active.
  for (const auto& [first, segment] : segments_.segments()) {
    if (first >= scan_from && first != segments_.segments().rbegin()->first) {
      repairs.push_back(
          WriteOp::Put(engine_->index_cf(), keys::Offset(id_, first), segment.Encode()));
    }
  }
  if (commit_ > next_) {
    log::Error("commit index beyond the recovered log end", {{"topic", key_.topic},
                                                             {"partition", key_.partition},
                                                             {"commit_index", commit_},
                                                             {"next_offset", next_}});
    commit_ = next_;
    repairs.push_back(CommitStateOp());
  }
  commit_ = std::max(commit_, first_);
  written_next_.store(next_);
  if (!repairs.empty()) {
    SPRAWL_RETURN_IF_ERROR(engine_->writer().SubmitAndWait(std::move(repairs)));
  }
  return Status::Ok();
}

}  // namespace sprawl::storage
