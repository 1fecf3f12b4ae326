#include "core/storage/partition_state_codec.h"

#include "core/util/byte_io.h"

namespace sprawl::storage::state_codec {

namespace {
constexpr uint8_t kVersion = 1;

Status CheckVersion(ByteReader& r, std::string_view what) {
  uint8_t version = 0;
  if (!r.U8(&version)) return DataCorruption("empty " + std::string(what) + " record");
  if (version == 0) return DataCorruption(std::string(what) + " record has version 0");
  if (version > kVersion) {
    return UnsupportedVersion(std::string(what) + " record version " + std::to_string(version) +
                              " is newer than this build supports");
  }
  return Status::Ok();
}
}  // namespace

std::string EncodeLogStart(const LogStart& start) {
  std::string out;
  ByteWriter w(&out);
  w.U8(kVersion);
  w.U64(start.first_offset);
  w.U64(start.prev_term);
  return out;
}

Result<LogStart> DecodeLogStart(std::string_view bytes) {
  ByteReader r(bytes);
  SPRAWL_RETURN_IF_ERROR(CheckVersion(r, "log start"));
  LogStart s;
  if (!r.U64(&s.first_offset) || !r.U64(&s.prev_term) || r.remaining() != 0) {
    return DataCorruption("malformed log start record");
  }
  return s;
}

std::string EncodeOffset(uint64_t offset) {
  std::string out;
  ByteWriter w(&out);
  w.U8(kVersion);
  w.U64(offset);
  return out;
}

Result<uint64_t> DecodeOffset(std::string_view bytes) {
  ByteReader r(bytes);
  SPRAWL_RETURN_IF_ERROR(CheckVersion(r, "offset"));
  uint64_t offset = 0;
  if (!r.U64(&offset) || r.remaining() != 0) return DataCorruption("malformed offset record");
  return offset;
}

std::string EncodeSnapshot(const PartitionSnapshot& snapshot) {
  std::string out;
  ByteWriter w(&out);
  w.U8(kVersion);
  w.U64(snapshot.last_offset);
  w.U64(snapshot.last_term);
  w.VarU64(snapshot.data.size());
  w.Bytes(snapshot.data);
  return out;
}

Result<PartitionSnapshot> DecodeSnapshot(std::string_view bytes) {
  ByteReader r(bytes);
  SPRAWL_RETURN_IF_ERROR(CheckVersion(r, "snapshot"));
  PartitionSnapshot s;
  uint64_t size = 0;
  std::string_view data;
  if (!r.U64(&s.last_offset) || !r.U64(&s.last_term) || !r.VarU64(&size) || !r.Bytes(size, &data) ||
      r.remaining() != 0) {
    return DataCorruption("malformed snapshot record");
  }
  s.data = std::string(data);
  return s;
}

std::string EncodePartitionId(uint32_t id) {
  std::string out;
  ByteWriter w(&out);
  w.U8(kVersion);
  w.U32(id);
  return out;
}

Result<uint32_t> DecodePartitionId(std::string_view bytes) {
  ByteReader r(bytes);
  SPRAWL_RETURN_IF_ERROR(CheckVersion(r, "partition id"));
  uint32_t id = 0;
  if (!r.U32(&id) || r.remaining() != 0) return DataCorruption("malformed partition id record");
  return id;
}

}  // namespace sprawl::storage::state_codec
