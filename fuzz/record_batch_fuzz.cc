// libFuzzer target for the record batch decoder (core/storage/record_batch.h).
// RecordBatchView::Parse, Validate, the record iterator and
// RecordView::Headers() see every batch a client sends and every batch read
// back from disk, so on any input they must fail cleanly with
// DATA_CORRUPTION or UNSUPPORTED_VERSION: no crash, leak or out-of-bounds
// read. For batches they accept, the target also checks what the format
// promises: offsets are consecutive, stamping the log fields needs no rehash,
// and the decoded records encode back into an equal batch.
#include <algorithm>
#include <boost/endian/conversion.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/storage/batch_format.h"
#include "core/storage/compression.h"
#include "core/storage/record_batch.h"
#include "core/util/byte_io.h"
#include "core/util/checksum.h"
#include "fuzz/fuzz_input.h"
#include "fuzz/fuzz_support.h"

namespace sprawl::fuzz {
namespace {

namespace bf = storage::batch_format;
using storage::Compression;
using storage::HeaderView;
using storage::RecordBatchBuilder;
using storage::RecordBatchView;
using storage::RecordInput;
using storage::RecordView;

// An owning copy of one decoded record.
struct Record {
  uint64_t offset = 0;
  int64_t timestamp_ms = 0;
  std::optional<std::string> key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;

  friend bool operator==(const Record&, const Record&) = default;
};

template <typename T>
void StoreLittle(std::string* bytes, size_t pos, T v) {
  v = boost::endian::native_to_little(v);
  std::memcpy(bytes->data() + pos, &v, sizeof(v));
}

// Rewrites the length field and the checksum to match the bytes, as the
// builder does; inputs shorter than a header are left alone.
void Seal(std::string* batch) {
  if (batch->size() < bf::kHeaderSize) return;
  StoreLittle<uint32_t>(batch, bf::kBatchLengthPos, static_cast<uint32_t>(batch->size()));
  StoreLittle<uint64_t>(
      batch, bf::kChecksumPos,
      Checksum64(batch->data() + bf::kChecksummedFrom, batch->size() - bf::kChecksummedFrom));
}

// BatchMode::kPayload: builds a sealed batch around a plain record payload.
// False when the input is too short to hold the fixed fields.
bool BuildFromPayload(std::string_view input, std::string* batch) {
  ByteReader r(input);
  uint8_t flags = 0;
  uint32_t count = 0;
  int64_t first_ts = 0;
  int64_t max_ts = 0;
  if (!r.U8(&flags) || !r.U32(&count) || !r.I64(&first_ts) || !r.I64(&max_ts)) return false;
  const std::string_view payload = input.substr(r.position());

  batch->assign(bf::kHeaderSize, '\0');
  const uint8_t codec = flags & bf::kCompressionMask;
  if (codec <= static_cast<uint8_t>(Compression::kLz4)) {
    if (!storage::Compress(static_cast<Compression>(codec), payload, batch).ok()) return false;
  } else {
    batch->append(payload);  // an unknown codec: Parse must reject the flags
  }
  StoreLittle<uint8_t>(batch, bf::kVersionPos, bf::kBatchFormatVersion);
  StoreLittle<uint8_t>(batch, bf::kFlagsPos, flags);
  StoreLittle<uint32_t>(batch, bf::kRecordCountPos, count);
  StoreLittle<int64_t>(batch, bf::kFirstTimestampPos, first_ts);
  StoreLittle<int64_t>(batch, bf::kMaxTimestampPos, max_ts);
  StoreLittle<uint32_t>(batch, bf::kPayloadLengthPos, static_cast<uint32_t>(payload.size()));
  Seal(batch);
  return true;
}

bool IsDecodeError(const Status& s) {
  return s.code() == ErrorCode::kDataCorruption || s.code() == ErrorCode::kUnsupportedVersion;
}

// Iterates every record the iterator yields, checking each against the
// batch header. Returns the records and whether the iterator ended cleanly.
bool DecodeRecords(const RecordBatchView& view, std::vector<Record>* records) {
  auto it = view.Records();
  if (!it.ok()) {
    FUZZ_CHECK(it.status().code() == ErrorCode::kDataCorruption);
    return false;
  }
  RecordView r;
  uint64_t expected_offset = view.base_offset();
  while (it->Next(&r)) {
    FUZZ_CHECK(r.offset == expected_offset);
    ++expected_offset;
    FUZZ_CHECK(records->size() < view.record_count());
    const std::vector<HeaderView> headers = r.Headers();
    // The iterator accepted the record, so every header it counted decodes.
    FUZZ_CHECK(headers.size() == r.header_count);
    Record copy{r.offset, r.timestamp_ms, std::nullopt, std::string(r.value), {}};
    if (r.key) copy.key = std::string(*r.key);
    for (const HeaderView& h : headers) copy.headers.emplace_back(h.name, h.value);
    records->push_back(std::move(copy));
  }
  // The end, clean or not, is sticky.
  FUZZ_CHECK(!it->Next(&r));
  if (!it->status().ok()) {
    FUZZ_CHECK(it->status().code() == ErrorCode::kDataCorruption);
    return false;
  }
  return true;
}

// The log stamps base offset and term into a stored batch without rehashing;
// that only works while both lie outside the checksum.
void CheckStampNeedsNoRehash(const RecordBatchView& view) {
  std::string stamped(view.bytes());
  const uint64_t base = ~view.base_offset();
  const uint64_t term = view.term() + 1;
  storage::StampBatch(&stamped, base, term);
  const ExactBuffer buffer(stamped);
  auto reparsed = RecordBatchView::Parse(buffer.view());
  FUZZ_CHECK(reparsed.ok());
  FUZZ_CHECK(reparsed->base_offset() == base);
  FUZZ_CHECK(reparsed->term() == term);
  FUZZ_CHECK(reparsed->Validate().ok());
}

// Encodes the decoded records again with the batch's codec and producer and
// checks that the new batch decodes to the same records and header.
void CheckRebuildRoundTrips(const RecordBatchView& view, const std::vector<Record>& records) {
  RecordBatchBuilder builder(view.compression(), view.producer());
  for (const Record& r : records) {
    RecordInput input;
    if (r.key) input.key = *r.key;
    input.value = r.value;
    for (const auto& [name, value] : r.headers) input.headers.push_back({name, value});
    input.timestamp_ms = r.timestamp_ms;
    builder.Add(input);
  }
  const size_t payload_bytes = builder.payload_bytes();
  auto built = builder.Build();
  if (!built.ok()) {
    // Only a payload at the size limit may fail to re-encode.
    FUZZ_CHECK(built.status().code() == ErrorCode::kInvalidArgument);
    FUZZ_CHECK(payload_bytes + bf::kHeaderSize > bf::kMaxBatchBytes);
    return;
  }
  std::string rebuilt = std::move(built).value();
  storage::StampBatch(&rebuilt, view.base_offset(), view.term());
  const ExactBuffer buffer(rebuilt);
  auto reparsed = RecordBatchView::Parse(buffer.view());
  FUZZ_CHECK(reparsed.ok());
  FUZZ_CHECK(reparsed->Validate().ok());
  FUZZ_CHECK(reparsed->record_count() == view.record_count());
  FUZZ_CHECK(reparsed->first_timestamp_ms() == view.first_timestamp_ms());
  FUZZ_CHECK(reparsed->max_timestamp_ms() == view.max_timestamp_ms());
  FUZZ_CHECK(reparsed->producer().producer_id == view.producer().producer_id);
  FUZZ_CHECK(reparsed->producer().base_sequence == view.producer().base_sequence);
  FUZZ_CHECK(reparsed->compression() == view.compression());
  std::vector<Record> again;
  FUZZ_CHECK(DecodeRecords(*reparsed, &again));
  FUZZ_CHECK(again == records);
}

void Exercise(std::string_view bytes) {
  auto parsed = RecordBatchView::Parse(bytes);
  if (!parsed.ok()) {
    FUZZ_CHECK(IsDecodeError(parsed.status()));
    return;
  }
  const RecordBatchView& view = *parsed;
  FUZZ_CHECK(view.bytes().size() == bytes.size());
  FUZZ_CHECK(view.record_count() >= 1 && view.record_count() <= bf::kMaxRecordsPerBatch);
  FUZZ_CHECK(view.first_timestamp_ms() <= view.max_timestamp_ms());
  FUZZ_CHECK(static_cast<uint8_t>(view.compression()) <= static_cast<uint8_t>(Compression::kLz4));

  const Status valid = view.Validate();
  FUZZ_CHECK(valid.ok() || valid.code() == ErrorCode::kDataCorruption);
  std::vector<Record> records;
  const bool clean = DecodeRecords(view, &records);
  if (!valid.ok()) return;

  // Validate's promise: the records agree with the header.
  FUZZ_CHECK(clean);
  FUZZ_CHECK(records.size() == view.record_count());
  FUZZ_CHECK(records.front().timestamp_ms == view.first_timestamp_ms());
  int64_t max_ts = records.front().timestamp_ms;
  for (const Record& r : records) max_ts = std::max(max_ts, r.timestamp_ms);
  FUZZ_CHECK(max_ts == view.max_timestamp_ms());

  CheckStampNeedsNoRehash(view);
  CheckRebuildRoundTrips(view, records);
}

}  // namespace
}  // namespace sprawl::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sprawl::fuzz::BatchMode;
  if (size == 0) return 0;
  const auto mode = static_cast<BatchMode>(data[0] % sprawl::fuzz::kBatchModeCount);
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string batch;
  switch (mode) {
    case BatchMode::kRaw:
      batch.assign(rest);
      break;
    case BatchMode::kSealed:
      batch.assign(rest);
      sprawl::fuzz::Seal(&batch);
      break;
    case BatchMode::kPayload:
      if (!sprawl::fuzz::BuildFromPayload(rest, &batch)) return 0;
      break;
  }
  const sprawl::fuzz::ExactBuffer buffer(batch);
  sprawl::fuzz::Exercise(buffer.view());
  return 0;
}
