#include "core/meta/meta_command.h"

#include "core/util/byte_io.h"

namespace sprawl::meta {
namespace {

void PutField(ByteWriter& w, std::string_view s) {
  w.VarU64(s.size());
  w.Bytes(s);
}

bool GetField(ByteReader& r, std::string* out) {
  uint64_t n = 0;
  std::string_view view;
  if (!r.VarU64(&n) || n > kMaxMetaFieldBytes || !r.Bytes(n, &view)) return false;
  out->assign(view);
  return true;
}

// At least one partition, each with 1 to kMaxAssignedReplicas members.
bool GetAssignment(ByteReader& r, std::vector<std::vector<std::string>>* out) {
  uint64_t partitions = 0;
  if (!r.VarU64(&partitions) || partitions == 0 || partitions > kMaxAssignedPartitions) {
    return false;
  }
  out->resize(partitions);
  for (auto& replicas : *out) {
    uint64_t n = 0;
    if (!r.VarU64(&n) || n == 0 || n > kMaxAssignedReplicas) return false;
    replicas.resize(n);
    for (std::string& id : replicas) {
      if (!GetField(r, &id) || id.empty()) return false;
    }
  }
  return true;
}

}  // namespace

std::string EncodeMetaCommand(const MetaCommand& c) {
  std::string out;
  ByteWriter w(&out);
  w.U8(c.assignment.empty() ? 1 : 2);
  w.U8(static_cast<uint8_t>(c.kind));
  PutField(w, c.request_id);
  PutField(w, c.topic);
  PutField(w, c.topic_id);
  PutField(w, c.config);
  if (!c.assignment.empty()) {
    w.VarU64(c.assignment.size());
    for (const auto& replicas : c.assignment) {
      w.VarU64(replicas.size());
      for (const std::string& id : replicas) PutField(w, id);
    }
  }
  return out;
}

Result<MetaCommand> DecodeMetaCommand(std::string_view bytes) {
  ByteReader r(bytes);
  uint8_t version = 0;
  uint8_t kind = 0;
  if (!r.U8(&version)) return InvalidArgument("metadata command: empty");
  if (version > kMetaCommandVersion) {
    return UnsupportedVersion("metadata command: version " + std::to_string(version) +
                              "; this build reads up to " + std::to_string(kMetaCommandVersion));
  }
  MetaCommand c;
  if (version == 0 || !r.U8(&kind) || kind < 1 || kind > 5 || !GetField(r, &c.request_id) ||
      !GetField(r, &c.topic) || !GetField(r, &c.topic_id) || !GetField(r, &c.config) ||
      (version >= 2 && !GetAssignment(r, &c.assignment)) || r.remaining() != 0) {
    return InvalidArgument("metadata command: malformed");
  }
  c.kind = static_cast<MetaCommand::Kind>(kind);
  return c;
}

}  // namespace sprawl::meta
