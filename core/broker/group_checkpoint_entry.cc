#include "core/broker/group_checkpoint_entry.h"

#include "core/util/byte_io.h"

namespace sprawl::broker {
namespace {

constexpr uint8_t kVersion = 1;
constexpr uint32_t kMaxCursors = 1u << 16;           // far above any topic's partitions
constexpr uint32_t kMaxCheckpointBytes = 16u << 20;  // one cursor's window, bounded

}  // namespace

std::string EncodeGroupCheckpointEntry(const GroupCheckpointEntry& entry) {
  std::string out;
  ByteWriter w(&out);
  w.U8(kVersion);
  w.U16(static_cast<uint16_t>(entry.group.size()));
  w.Bytes(entry.group);
  w.U8(entry.latest ? 1 : 0);
  w.U32(static_cast<uint32_t>(entry.cursors.size()));
  for (const auto& [partition, checkpoint] : entry.cursors) {
    w.U32(partition);
    w.U32(static_cast<uint32_t>(checkpoint.size()));
    w.Bytes(checkpoint);
  }
  return out;
}

Result<GroupCheckpointEntry> DecodeGroupCheckpointEntry(std::string_view bytes) {
  ByteReader r(bytes);
  auto corrupt = [](const char* what) {
    return DataCorruption(std::string("group checkpoint entry: ") + what);
  };
  uint8_t version = 0;
  if (!r.U8(&version)) return corrupt("truncated");
  if (version > kVersion) {
    return UnsupportedVersion("group checkpoint entry: version " + std::to_string(version) +
                              " is newer than this node's " + std::to_string(kVersion));
  }
  if (version == 0) return corrupt("version 0");
  GroupCheckpointEntry entry;
  uint16_t name_size = 0;
  std::string_view name;
  uint8_t latest = 0;
  uint32_t count = 0;
  if (!r.U16(&name_size) || !r.Bytes(name_size, &name) || !r.U8(&latest) || !r.U32(&count)) {
    return corrupt("truncated");
  }
  if (name.empty()) return corrupt("empty group name");
  if (latest > 1) return corrupt("bad start");
  if (count > kMaxCursors || count > r.remaining() / 8) return corrupt("too many cursors");
  entry.group = std::string(name);
  entry.latest = latest == 1;
  entry.cursors.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t partition = 0;
    uint32_t size = 0;
    std::string_view checkpoint;
    if (!r.U32(&partition) || !r.U32(&size)) return corrupt("truncated");
    if (size > kMaxCheckpointBytes) return corrupt("checkpoint too large");
    if (!r.Bytes(size, &checkpoint)) return corrupt("truncated");
    entry.cursors.emplace_back(partition, std::string(checkpoint));
  }
  if (r.remaining() != 0) return corrupt("trailing bytes");
  return entry;
}

}  // namespace sprawl::broker
