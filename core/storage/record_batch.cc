#include "core/storage/record_batch.h"

#include <algorithm>
#include <cstring>

#include "core/storage/batch_format.h"
#include "core/util/byte_io.h"
#include "core/util/checksum.h"

namespace sprawl::storage {
namespace bf = batch_format;

namespace {

template <typename T>
T LoadAt(std::string_view bytes, size_t pos) {
  T v;
  std::memcpy(&v, bytes.data() + pos, sizeof(T));
  return boost::endian::little_to_native(v);
}

template <typename T>
void StoreAt(std::string* bytes, size_t pos, T v) {
  v = boost::endian::native_to_little(v);
  std::memcpy(bytes->data() + pos, &v, sizeof(T));
}

size_t VarU64Size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

// ByteWriter's LEB128 varint, stored at `out`; returns the end.
char* PutVarU64(char* out, uint64_t v) {
  while (v >= 0x80) {
    *out++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *out++ = static_cast<char>(v);
  return out;
}

char* PutBytes(char* out, std::string_view bytes) {
  if (!bytes.empty()) std::memcpy(out, bytes.data(), bytes.size());
  return out + bytes.size();
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}

std::string_view HeaderName(const HeaderView& h) { return h.name; }
std::string_view HeaderValue(const HeaderView& h) { return h.value; }
std::string_view HeaderName(const std::pair<std::string, std::string>& h) { return h.first; }
std::string_view HeaderValue(const std::pair<std::string, std::string>& h) { return h.second; }

bool SkipHeaders(ByteReader* r, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t n;
    std::string_view skipped;
    if (!r->VarU64(&n) || !r->Bytes(n, &skipped)) return false;
    if (!r->VarU64(&n) || !r->Bytes(n, &skipped)) return false;
  }
  return true;
}

}  // namespace

std::vector<HeaderView> RecordView::Headers() const {
  std::vector<HeaderView> out;
  ByteReader r(headers_encoded);
  for (uint64_t i = 0; i < header_count; ++i) {
    uint64_t n;
    HeaderView h;
    if (!r.VarU64(&n) || !r.Bytes(n, &h.name) || !r.VarU64(&n) || !r.Bytes(n, &h.value)) {
      break;  // unreachable for a record the iterator accepted
    }
    out.push_back(h);
  }
  return out;
}

RecordBatchBuilder::RecordBatchBuilder(Compression compression, ProducerStamp producer)
    : compression_(compression), producer_(producer), payload_(kReserved, '\0') {
  static_assert(kReserved == bf::kHeaderSize);
}

// Each record: varint length of the rest, zig-zag timestamp delta, varint
// (key length + 1) with 0 for no key, key, varint value length, value, varint
// header count, then per header varint name length, name, varint value
// length, value. The length is computed first so that the record is written
// once, in place.
template <typename HeaderList>
void RecordBatchBuilder::Encode(std::optional<std::string_view> key, std::string_view value,
                                const HeaderList& headers, int64_t timestamp_ms) {
  if (record_count_ == 0) {
    first_timestamp_ = timestamp_ms;
    max_timestamp_ = timestamp_ms;
  }
  max_timestamp_ = std::max(max_timestamp_, timestamp_ms);
  // Wrapping arithmetic: any pair of timestamps round-trips without overflow.
  const uint64_t delta = ZigZag(static_cast<int64_t>(static_cast<uint64_t>(timestamp_ms) -
                                                     static_cast<uint64_t>(first_timestamp_)));
  const uint64_t key_field = key ? key->size() + 1 : 0;
  size_t body = VarU64Size(delta) + VarU64Size(key_field) + (key ? key->size() : 0) +
                VarU64Size(value.size()) + value.size() + VarU64Size(headers.size());
  for (const auto& h : headers) {
    body += VarU64Size(HeaderName(h).size()) + HeaderName(h).size() +
            VarU64Size(HeaderValue(h).size()) + HeaderValue(h).size();
  }
  // One resize, then plain stores: cheaper than growing the string per field.
  const size_t at = payload_.size();
  payload_.resize(at + VarU64Size(body) + body);
  char* out = payload_.data() + at;
  out = PutVarU64(out, body);
  out = PutVarU64(out, delta);
  out = PutVarU64(out, key_field);
  if (key) out = PutBytes(out, *key);
  out = PutVarU64(out, value.size());
  out = PutBytes(out, value);
  out = PutVarU64(out, headers.size());
  for (const auto& h : headers) {
    out = PutVarU64(out, HeaderName(h).size());
    out = PutBytes(out, HeaderName(h));
    out = PutVarU64(out, HeaderValue(h).size());
    out = PutBytes(out, HeaderValue(h));
  }
  ++record_count_;
}

void RecordBatchBuilder::Add(const RecordInput& record) {
  Encode(record.key, record.value, record.headers, record.timestamp_ms);
}

void RecordBatchBuilder::Add(std::optional<std::string_view> key, std::string_view value,
                             int64_t timestamp_ms) {
  Encode(key, value, std::vector<HeaderView>(), timestamp_ms);
}

void RecordBatchBuilder::Add(std::optional<std::string_view> key, std::string_view value,
                             const std::vector<std::pair<std::string, std::string>>& headers,
                             int64_t timestamp_ms) {
  Encode(key, value, headers, timestamp_ms);
}

void RecordBatchBuilder::Reserve(size_t payload_bytes) {
  payload_.reserve(kReserved + payload_bytes);
}

Result<std::string> RecordBatchBuilder::Build() {
  if (record_count_ == 0) {
    return InvalidArgument("a record batch needs at least one record");
  }
  if (record_count_ > bf::kMaxRecordsPerBatch) {
    return InvalidArgument("a record batch holds at most " +
                           std::to_string(bf::kMaxRecordsPerBatch) + " records");
  }
  const size_t payload_size = payload_bytes();
  if (payload_.size() > bf::kMaxBatchBytes) {
    return InvalidArgument("record batch of " + std::to_string(payload_size) +
                           " bytes exceeds the limit of " + std::to_string(bf::kMaxBatchBytes));
  }
  std::string out;
  if (compression_ == Compression::kNone) {
    out = std::move(payload_);  // the records are already in place behind the header
  } else {
    out.assign(bf::kHeaderSize, '\0');
    SPRAWL_RETURN_IF_ERROR(
        Compress(compression_, std::string_view(payload_).substr(kReserved), &out));
    if (out.size() > bf::kMaxBatchBytes) {
      return InvalidArgument("compressed record batch exceeds the size limit");
    }
  }
  StoreAt<uint32_t>(&out, bf::kBatchLengthPos, static_cast<uint32_t>(out.size()));
  const bool has_epoch = producer_.producer_id != 0 && producer_.epoch != 0;
  StoreAt<uint8_t>(&out, bf::kVersionPos, has_epoch ? bf::kFirstVersionWithEpoch : uint8_t{1});
  StoreAt<uint8_t>(&out, bf::kFlagsPos, static_cast<uint8_t>(compression_));
  StoreAt<uint32_t>(&out, bf::kRecordCountPos, record_count_);
  StoreAt<int64_t>(&out, bf::kFirstTimestampPos, first_timestamp_);
  StoreAt<int64_t>(&out, bf::kMaxTimestampPos, max_timestamp_);
  StoreAt<uint64_t>(&out, bf::kProducerIdPos, producer_.producer_id);
  StoreAt<uint16_t>(&out, bf::kProducerEpochPos, has_epoch ? producer_.epoch : uint16_t{0});
  StoreAt<uint32_t>(&out, bf::kBaseSequencePos, producer_.base_sequence);
  StoreAt<uint32_t>(&out, bf::kPayloadLengthPos, static_cast<uint32_t>(payload_size));
  const std::string_view covered(out.data() + bf::kChecksummedFrom,
                                 out.size() - bf::kChecksummedFrom);
  StoreAt<uint64_t>(&out, bf::kChecksumPos, Checksum64(covered.data(), covered.size()));

  if (producer_.producer_id != 0) {
    producer_.base_sequence += record_count_;
  }
  payload_.assign(kReserved, '\0');
  record_count_ = 0;
  return out;
}

void StampBatch(std::string* batch, uint64_t base_offset, uint64_t term) {
  StoreAt<uint64_t>(batch, bf::kBaseOffsetPos, base_offset);
  StoreAt<uint64_t>(batch, bf::kTermPos, term);
}

Result<RecordBatchView> RecordBatchView::Parse(std::string_view bytes) {
  return ParseChecked(bytes, /*verify_checksum=*/true);
}

Result<RecordBatchView> RecordBatchView::ParseVerified(std::string_view bytes) {
  return ParseChecked(bytes, /*verify_checksum=*/false);
}

Result<RecordBatchView> RecordBatchView::ParseChecked(std::string_view bytes,
                                                      bool verify_checksum) {
  if (bytes.size() < bf::kHeaderSize) {
    return DataCorruption("record batch of " + std::to_string(bytes.size()) +
                          " bytes is shorter than its " + std::to_string(bf::kHeaderSize) +
                          "-byte header");
  }
  const auto version = LoadAt<uint8_t>(bytes, bf::kVersionPos);
  if (version > bf::kBatchFormatVersion) {
    return UnsupportedVersion("record batch format version " + std::to_string(version) +
                              " is newer than this build supports (" +
                              std::to_string(bf::kBatchFormatVersion) + ")");
  }
  if (version == 0) {
    return DataCorruption("record batch has format version 0");
  }
  const auto length = LoadAt<uint32_t>(bytes, bf::kBatchLengthPos);
  if (length != bytes.size()) {
    return DataCorruption("record batch length field says " + std::to_string(length) +
                          " bytes but " + std::to_string(bytes.size()) + " are present");
  }
  if (length > bf::kMaxBatchBytes) {
    return DataCorruption("record batch exceeds the size limit");
  }
  if (verify_checksum &&
      LoadAt<uint64_t>(bytes, bf::kChecksumPos) !=
          Checksum64(bytes.data() + bf::kChecksummedFrom, bytes.size() - bf::kChecksummedFrom)) {
    return DataCorruption("record batch checksum mismatch");
  }
  const auto flags = LoadAt<uint8_t>(bytes, bf::kFlagsPos);
  if ((flags & ~bf::kCompressionMask) != 0 || (flags & bf::kCompressionMask) > 2) {
    return DataCorruption("record batch has unknown flags " + std::to_string(flags));
  }
  if (LoadAt<uint16_t>(bytes, bf::kProducerEpochPos) != 0) {
    if (version < bf::kFirstVersionWithEpoch) {
      return DataCorruption("record batch reserved field is not zero");
    }
    if (LoadAt<uint64_t>(bytes, bf::kProducerIdPos) == 0) {
      return DataCorruption("record batch has a producer epoch but no producer id");
    }
  }
  const auto count = LoadAt<uint32_t>(bytes, bf::kRecordCountPos);
  if (count == 0 || count > bf::kMaxRecordsPerBatch) {
    return DataCorruption("record batch record count " + std::to_string(count) +
                          " is out of range");
  }
  if (LoadAt<uint32_t>(bytes, bf::kPayloadLengthPos) > bf::kMaxBatchBytes) {
    return DataCorruption("record batch payload length exceeds the size limit");
  }
  if (LoadAt<int64_t>(bytes, bf::kMaxTimestampPos) <
      LoadAt<int64_t>(bytes, bf::kFirstTimestampPos)) {
    return DataCorruption("record batch max timestamp precedes its first timestamp");
  }
  return RecordBatchView(bytes);
}

uint64_t RecordBatchView::base_offset() const {
  return LoadAt<uint64_t>(bytes_, bf::kBaseOffsetPos);
}
uint64_t RecordBatchView::term() const { return LoadAt<uint64_t>(bytes_, bf::kTermPos); }
uint32_t RecordBatchView::record_count() const {
  return LoadAt<uint32_t>(bytes_, bf::kRecordCountPos);
}
int64_t RecordBatchView::first_timestamp_ms() const {
  return LoadAt<int64_t>(bytes_, bf::kFirstTimestampPos);
}
int64_t RecordBatchView::max_timestamp_ms() const {
  return LoadAt<int64_t>(bytes_, bf::kMaxTimestampPos);
}
ProducerStamp RecordBatchView::producer() const {
  return {LoadAt<uint64_t>(bytes_, bf::kProducerIdPos),
          LoadAt<uint32_t>(bytes_, bf::kBaseSequencePos),
          LoadAt<uint16_t>(bytes_, bf::kProducerEpochPos)};
}
Compression RecordBatchView::compression() const {
  return static_cast<Compression>(LoadAt<uint8_t>(bytes_, bf::kFlagsPos) & bf::kCompressionMask);
}

Result<RecordIterator> RecordBatchView::Records() const {
  const std::string_view stored = bytes_.substr(bf::kHeaderSize);
  const uint32_t payload_length = LoadAt<uint32_t>(bytes_, bf::kPayloadLengthPos);
  std::unique_ptr<std::string> owned;
  std::string_view payload = stored;
  if (compression() != Compression::kNone) {
    owned = std::make_unique<std::string>();
    SPRAWL_RETURN_IF_ERROR(Decompress(compression(), stored, payload_length, owned.get()));
    payload = *owned;
  } else if (stored.size() != payload_length) {
    return DataCorruption("record batch payload length differs from the header");
  }
  return RecordIterator(payload, std::move(owned), base_offset(), record_count(),
                        first_timestamp_ms());
}

Status RecordBatchView::Validate() const {
  SPRAWL_ASSIGN_OR_RETURN(RecordIterator it, Records());
  RecordView record;
  uint32_t seen = 0;
  int64_t max_ts = first_timestamp_ms();
  while (it.Next(&record)) {
    if (seen == 0 && record.timestamp_ms != first_timestamp_ms()) {
      return DataCorruption("first record timestamp differs from the batch header");
    }
    max_ts = std::max(max_ts, record.timestamp_ms);
    ++seen;
  }
  SPRAWL_RETURN_IF_ERROR(it.status());
  if (seen != record_count()) {
    return DataCorruption("record batch holds " + std::to_string(seen) +
                          " records but its header says " + std::to_string(record_count()));
  }
  if (max_ts != max_timestamp_ms()) {
    return DataCorruption("record batch max timestamp differs from its records");
  }
  return Status::Ok();
}

RecordIterator::RecordIterator(std::string_view payload, std::unique_ptr<std::string> owned,
                               uint64_t base_offset, uint32_t count, int64_t first_timestamp)
    : owned_(std::move(owned)),
      payload_(payload),
      next_offset_(base_offset),
      remaining_(count),
      first_timestamp_(first_timestamp) {}

bool RecordIterator::Next(RecordView* out) {
  if (!status_.ok()) return false;
  if (remaining_ == 0) {
    if (pos_ != payload_.size()) {
      status_ = DataCorruption("record batch has trailing bytes after its last record");
    }
    return false;
  }
  std::string_view body;
  size_t consumed = 0;
  if (!ReadLengthPrefixed(&body, &consumed)) return false;
  ByteReader r(body);
  int64_t ts_delta;
  uint64_t key_length_plus_one;
  uint64_t value_length;
  std::string_view key;
  bool ok = r.VarI64(&ts_delta) && r.VarU64(&key_length_plus_one);
  if (ok && key_length_plus_one > 0) ok = r.Bytes(key_length_plus_one - 1, &key);
  ok = ok && r.VarU64(&value_length) && r.Bytes(value_length, &out->value) &&
       r.VarU64(&out->header_count);
  const size_t headers_start = r.position();
  ok = ok && SkipHeaders(&r, out->header_count) && r.remaining() == 0;
  if (!ok) {
    status_ = DataCorruption("record at offset " + std::to_string(next_offset_) + " is malformed");
    return false;
  }
  out->headers_encoded = body.substr(headers_start);
  out->key = key_length_plus_one > 0 ? std::optional<std::string_view>(key) : std::nullopt;
  out->timestamp_ms = static_cast<int64_t>(static_cast<uint64_t>(first_timestamp_) +
                                           static_cast<uint64_t>(ts_delta));
  out->offset = next_offset_++;
  pos_ += consumed;
  --remaining_;
  return true;
}

bool RecordIterator::ReadLengthPrefixed(std::string_view* body, size_t* consumed) {
  ByteReader outer(payload_.substr(pos_));
  uint64_t length;
  if (!outer.VarU64(&length) || !outer.Bytes(length, body)) {
    status_ = DataCorruption("record at offset " + std::to_string(next_offset_) +
                             " runs past the end of its batch");
    return false;
  }
  *consumed = outer.position();
  return true;
}

bool RecordIterator::SkipTo(uint64_t offset) {
  if (!status_.ok()) return false;
  while (next_offset_ < offset && remaining_ > 0) {
    std::string_view body;
    size_t consumed = 0;
    if (!ReadLengthPrefixed(&body, &consumed)) return false;
    pos_ += consumed;
    ++next_offset_;
    --remaining_;
  }
  return true;
}

}  // namespace sprawl::storage
