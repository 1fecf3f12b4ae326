#include "core/replica/control_entry.h"

#include "core/util/byte_io.h"

namespace sprawl::replica {
namespace {

constexpr uint64_t kMarker = ~uint64_t{0};
constexpr size_t kMarkerSize = 8;
constexpr uint8_t kControlVersion = 1;
constexpr uint8_t kImageVersion = 1;

}  // namespace

bool IsControlEntry(std::string_view data) {
  if (data.size() < kMarkerSize) return false;
  for (size_t i = 0; i < kMarkerSize; ++i) {
    if (static_cast<unsigned char>(data[i]) != 0xff) return false;
  }
  return true;
}

std::string EncodeControlEntry(const ControlEntry& entry) {
  std::string out;
  ByteWriter w(&out);
  w.U64(kMarker);
  w.U8(kControlVersion);
  w.U8(static_cast<uint8_t>(entry.kind));
  if (entry.kind == ControlKind::kCompact) {
    w.U64(entry.index);
  } else {
    w.Bytes(entry.payload);
  }
  return out;
}

Result<ControlEntry> DecodeControlEntry(std::string_view data) {
  if (!IsControlEntry(data)) return DataCorruption("partition control entry: no marker");
  ByteReader r(data.substr(kMarkerSize));
  uint8_t version = 0;
  uint8_t kind = 0;
  if (!r.U8(&version) || !r.U8(&kind)) {
    return DataCorruption("partition control entry: truncated");
  }
  if (version > kControlVersion) {
    return UnsupportedVersion("partition control entry: version " + std::to_string(version) +
                              " is newer than this node's " + std::to_string(kControlVersion));
  }
  if (version == 0) return DataCorruption("partition control entry: version 0");
  ControlEntry entry;
  switch (static_cast<ControlKind>(kind)) {
    case ControlKind::kCompact:
      entry.kind = ControlKind::kCompact;
      if (!r.U64(&entry.index)) return DataCorruption("partition control entry: truncated");
      break;
    case ControlKind::kGroupCheckpoint: {
      entry.kind = ControlKind::kGroupCheckpoint;
      std::string_view rest;
      (void)r.Bytes(r.remaining(), &rest);
      entry.payload = std::string(rest);
      break;
    }
    default:
      return DataCorruption("partition control entry: unknown kind " + std::to_string(kind));
  }
  if (r.remaining() != 0) return DataCorruption("partition control entry: trailing bytes");
  return entry;
}

std::string EncodePartitionImage(const PartitionImage& image) {
  std::string out;
  ByteWriter w(&out);
  w.U8(kImageVersion);
  w.U64(image.index);
  w.U64(image.end_offset);
  return out;
}

Result<PartitionImage> DecodePartitionImage(std::string_view bytes) {
  ByteReader r(bytes);
  uint8_t version = 0;
  PartitionImage image;
  if (!r.U8(&version) || version != kImageVersion || !r.U64(&image.index) ||
      !r.U64(&image.end_offset) || r.remaining() != 0) {
    return DataCorruption("partition image: malformed");
  }
  return image;
}

std::string EncodeReplicaRemoved(uint64_t group) {
  std::string out;
  ByteWriter w(&out);
  w.U64(group);
  return out;
}

Result<uint64_t> DecodeReplicaRemoved(std::string_view body) {
  ByteReader r(body);
  uint64_t group = 0;
  if (!r.U64(&group) || r.remaining() != 0) {
    return DataCorruption("replica removed: the body is not a group id");
  }
  return group;
}

}  // namespace sprawl::replica
