#include "core/broker/batch_slicer.h"

#include "core/storage/record_batch.h"

namespace sprawl::broker {
namespace {

Result<storage::BatchBytes> BuildRun(std::vector<storage::RecordInput>& run, uint64_t base_offset,
                                     uint64_t term) {
  storage::RecordBatchBuilder builder;
  for (const auto& r : run) builder.Add(r);
  SPRAWL_ASSIGN_OR_RETURN(std::string bytes, builder.Build());
  storage::StampBatch(&bytes, base_offset, term);
  run.clear();
  return std::make_shared<const std::string>(std::move(bytes));
}

}  // namespace

std::optional<storage::RecordIterator> SliceResumeCache::Take(const storage::BatchBytes& batch,
                                                              uint64_t offset) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->batch == batch && it->iterator.next_offset() <= offset) {
      std::optional<storage::RecordIterator> found(std::move(it->iterator));
      bytes_ -= it->batch->size();
      entries_.erase(it);
      return found;
    }
  }
  return std::nullopt;
}

void SliceResumeCache::Put(storage::BatchBytes batch, storage::RecordIterator iterator) {
  if (batch->size() > kMaxBytes) return;
  while (!entries_.empty() && (entries_.size() == kEntries || bytes_ + batch->size() > kMaxBytes)) {
    bytes_ -= entries_.front().batch->size();
    entries_.pop_front();
  }
  bytes_ += batch->size();
  entries_.push_back(Entry{std::move(batch), std::move(iterator)});
}

Result<Slice> SliceBatch(const storage::StoredBatch& stored, const std::vector<uint64_t>& offsets,
                         int64_t ttl_ms, int64_t now_wall_ms, SliceResumeCache* resume) {
  Slice slice;
  const uint64_t records = stored.last_offset - stored.base_offset + 1;
  if (ttl_ms == 0 && offsets.size() == records) {
    slice.batches.push_back(stored.bytes);  // the hot path: unchanged
    return slice;
  }
  SPRAWL_ASSIGN_OR_RETURN(auto view, storage::RecordBatchView::ParseVerified(*stored.bytes));
  std::optional<storage::RecordIterator> resumed;
  if (resume != nullptr && !offsets.empty()) resumed = resume->Take(stored.bytes, offsets.front());
  if (!resumed) {
    SPRAWL_ASSIGN_OR_RETURN(auto fresh, view.Records());
    resumed.emplace(std::move(fresh));
  }
  storage::RecordIterator& iterator = *resumed;
  std::vector<storage::RecordInput> run;
  std::vector<std::vector<storage::HeaderView>> headers;  // keeps header views alive per record
  headers.reserve(offsets.size());
  uint64_t run_start = 0;
  uint64_t expected = 0;  // the offset that would extend the run
  size_t next = 0;
  storage::RecordView record;
  while (next < offsets.size() && iterator.SkipTo(offsets[next]) && iterator.Next(&record)) {
    if (record.offset != offsets[next]) continue;  // offsets[next] is not in this batch
    ++next;
    if (ttl_ms > 0 && now_wall_ms - record.timestamp_ms > ttl_ms) {
      slice.expired.push_back(record.offset);
      continue;
    }
    if (!run.empty() && record.offset != expected) {
      SPRAWL_ASSIGN_OR_RETURN(auto built, BuildRun(run, run_start, view.term()));
      slice.batches.push_back(std::move(built));
    }
    if (run.empty()) run_start = record.offset;
    expected = record.offset + 1;
    headers.push_back(record.Headers());
    storage::RecordInput input;
    input.key = record.key;
    input.value = record.value;
    input.timestamp_ms = record.timestamp_ms;
    input.headers = headers.back();
    run.push_back(std::move(input));
  }
  SPRAWL_RETURN_IF_ERROR(iterator.status());
  if (!run.empty()) {
    // A run that is the whole batch is the stored batch itself.
    if (run_start == stored.base_offset && run.size() == records) {
      slice.batches.push_back(stored.bytes);
    } else {
      SPRAWL_ASSIGN_OR_RETURN(auto built, BuildRun(run, run_start, view.term()));
      slice.batches.push_back(std::move(built));
    }
  }
  // After the last use of views into the iterator's payload (a compressed
  // batch's records live in the iterator).
  if (resume != nullptr && iterator.next_offset() <= stored.last_offset) {
    resume->Put(stored.bytes, std::move(iterator));
  }
  return slice;
}

}  // namespace sprawl::broker
