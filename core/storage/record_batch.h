#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/storage/compression.h"
#include "core/storage/record.h"
#include "core/util/result.h"

namespace sprawl::storage {

// Identity of an idempotent producer stamped on a batch; id 0 means none.
struct ProducerStamp {
  uint64_t producer_id = 0;
  uint32_t base_sequence = 0;
  // A named producer's session (docs/replication.md, "Fencing"): a batch of
  // an older epoch than its name's latest is refused. 0 for others.
  uint16_t epoch = 0;
};

// Accumulates records and encodes them as one batch (layout in
// docs/storage.md). Each record is encoded once, straight into the buffer
// that becomes the batch: behind room left for the header, which Build()
// fills in place (uncompressed batches are then moved out, never copied).
// Not thread-safe; reusable after Build().
class RecordBatchBuilder {
 public:
  explicit RecordBatchBuilder(Compression compression = Compression::kNone,
                              ProducerStamp producer = {});

  // Adds a record. Views are copied into the builder.
  void Add(const RecordInput& record);
  // Shorthand for a record without headers.
  void Add(std::optional<std::string_view> key, std::string_view value, int64_t timestamp_ms);
  // The same with headers as owned (name, value) pairs: what a producer holds,
  // without building a RecordInput (no allocation beyond the buffer's growth).
  void Add(std::optional<std::string_view> key, std::string_view value,
           const std::vector<std::pair<std::string, std::string>>& headers, int64_t timestamp_ms);

  // Makes room for `payload_bytes` of records, so a batch of a known size
  // grows its buffer once.
  void Reserve(size_t payload_bytes);
  // The identity stamped by the next Build(); a producer fixes it only when
  // the batch is first sent.
  void set_producer(ProducerStamp producer) { producer_ = producer; }

  size_t record_count() const { return record_count_; }
  // Bytes of encoded records so far (before compression and the header).
  size_t payload_bytes() const { return payload_.size() - kReserved; }

  // Encodes the batch with base offset and term 0 (the log assigns both) and
  // resets the builder. INVALID_ARGUMENT when empty or over the size limits.
  Result<std::string> Build();

 private:
  static constexpr size_t kReserved = 68;  // batch_format::kHeaderSize (checked in the .cc)
  template <typename HeaderList>
  void Encode(std::optional<std::string_view> key, std::string_view value,
              const HeaderList& headers, int64_t timestamp_ms);

  Compression compression_;
  ProducerStamp producer_;
  std::string payload_;  // kReserved bytes for the header, then the records
  uint32_t record_count_ = 0;
  int64_t first_timestamp_ = 0;
  int64_t max_timestamp_ = 0;
};

class RecordIterator;

// A validated, read-only view of one encoded batch. Parse() checks the header,
// the bounds and the checksum; Validate() also decodes every record.
class RecordBatchView {
 public:
  // Checks structure and checksum of `bytes` without decoding records.
  // DATA_CORRUPTION for any mismatch, UNSUPPORTED_VERSION for a newer format.
  static Result<RecordBatchView> Parse(std::string_view bytes);

  // Parse() without the checksum, for bytes the partition log has already
  // verified (every batch it hands out was checked on append or on its read
  // from disk): the header and bounds are still checked, so a view is always
  // safe to iterate. Saves hashing a batch again on every delivery.
  static Result<RecordBatchView> ParseVerified(std::string_view bytes);

  // Decodes every record and checks the count, timestamps and sizes against
  // the header: what a log runs on a batch before accepting it.
  Status Validate() const;

  uint64_t base_offset() const;
  uint64_t last_offset() const { return base_offset() + record_count() - 1; }
  uint64_t term() const;
  uint32_t record_count() const;
  int64_t first_timestamp_ms() const;
  int64_t max_timestamp_ms() const;
  ProducerStamp producer() const;
  Compression compression() const;
  std::string_view bytes() const { return bytes_; }

  // Iterates the records. The iterator owns a decompressed copy of the payload
  // when the batch is compressed; views stay valid while both it and the
  // batch bytes live.
  Result<RecordIterator> Records() const;

 private:
  explicit RecordBatchView(std::string_view bytes) : bytes_(bytes) {}
  static Result<RecordBatchView> ParseChecked(std::string_view bytes, bool verify_checksum);
  std::string_view bytes_;
};

// Walks the records of a batch in offset order.
class RecordIterator {
 public:
  // Fills `out` with the next record; false at the end or on malformed data
  // (then status() says which).
  bool Next(RecordView* out);

  // Moves past the records before `offset` reading only their lengths, so a
  // reader after the middle of a batch does not decode its head. False, with
  // status() saying why, when the batch is malformed; true otherwise (also
  // when the batch ends first: Next then returns false).
  bool SkipTo(uint64_t offset);

  const Status& status() const { return status_; }

  // The offset the next Next() returns (when records remain).
  uint64_t next_offset() const { return next_offset_; }

 private:
  friend class RecordBatchView;
  RecordIterator(std::string_view payload, std::unique_ptr<std::string> owned, uint64_t base_offset,
                 uint32_t count, int64_t first_timestamp);
  // The next record's bytes and how many bytes its length prefix and body
  // take; false with status_ set when it runs past the payload.
  bool ReadLengthPrefixed(std::string_view* body, size_t* consumed);

  std::unique_ptr<std::string> owned_;  // decompressed payload, when compressed
  std::string_view payload_;
  size_t pos_ = 0;
  uint64_t next_offset_;
  uint32_t remaining_;
  int64_t first_timestamp_;
  Status status_;
};

// Stamps the log-assigned fields into an encoded batch. These two fields lie
// outside the checksum, so stamping needs no rehash (docs/storage.md).
void StampBatch(std::string* batch, uint64_t base_offset, uint64_t term);

}  // namespace sprawl::storage
