#include "core/replication/codec.h"

#include "core/util/byte_io.h"

namespace sprawl::replication {
namespace {

constexpr uint8_t kFlagReject = 1;
constexpr uint8_t kFlagForce = 2;
constexpr uint8_t kFlagSnapshot = 4;
constexpr uint8_t kKnownFlags = kFlagReject | kFlagForce | kFlagSnapshot;

void PutIds(ByteWriter& w, const std::vector<NodeId>& ids) {
  w.VarU64(ids.size());
  for (NodeId id : ids) w.VarU64(id);
}

void PutConf(ByteWriter& w, const ConfState& conf) {
  PutIds(w, conf.voters);
  PutIds(w, conf.learners);
}

void PutBytes(ByteWriter& w, std::string_view b) {
  w.VarU64(b.size());
  w.Bytes(b);
}

bool GetIds(ByteReader& r, std::vector<NodeId>* ids) {
  uint64_t n = 0;
  if (!r.VarU64(&n) || n > kMaxMembers) return false;
  ids->clear();
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t id = 0;
    if (!r.VarU64(&id) || id == kNoNode) return false;
    if (!ids->empty() && id <= ids->back()) return false;  // sorted, no duplicates
    ids->push_back(id);
  }
  return true;
}

bool GetConf(ByteReader& r, ConfState* conf) {
  if (!GetIds(r, &conf->voters) || !GetIds(r, &conf->learners)) return false;
  for (NodeId id : conf->learners) {
    for (NodeId v : conf->voters) {
      if (v == id) return false;
    }
  }
  return true;
}

bool GetBytes(ByteReader& r, size_t max, std::string* out) {
  uint64_t n = 0;
  std::string_view view;
  if (!r.VarU64(&n) || n > max || !r.Bytes(n, &view)) return false;
  out->assign(view);
  return true;
}

bool KnownType(uint8_t t) { return t >= 1 && t <= 10; }

Status Malformed(const char* what) { return InvalidArgument(std::string("raft message: ") + what); }

}  // namespace

void EncodeMessage(const Message& m, std::string* out) {
  ByteWriter w(out);
  w.U8(kRaftCodecVersion);
  w.U8(static_cast<uint8_t>(m.type));
  w.VarU64(m.from);
  w.VarU64(m.to);
  w.VarU64(m.term);
  w.VarU64(m.log_term);
  w.VarU64(m.index);
  w.VarU64(m.commit);
  w.VarU64(m.reject_hint);
  uint8_t flags = 0;
  if (m.reject) flags |= kFlagReject;
  if (m.force) flags |= kFlagForce;
  if (m.snapshot) flags |= kFlagSnapshot;
  w.U8(flags);
  w.VarU64(m.entries.size());
  for (const Entry& e : m.entries) {
    w.VarU64(e.term);
    w.VarU64(e.index);
    w.U8(static_cast<uint8_t>(e.type));
    PutBytes(w, e.data);
  }
  if (m.snapshot) {
    w.VarU64(m.snapshot->index);
    w.VarU64(m.snapshot->term);
    PutConf(w, m.snapshot->conf);
    PutBytes(w, m.snapshot->data);
  }
}

std::string EncodeMessage(const Message& m) {
  std::string out;
  EncodeMessage(m, &out);
  return out;
}

Result<Message> DecodeMessage(std::string_view bytes) {
  ByteReader r(bytes);
  uint8_t version = 0;
  if (!r.U8(&version)) return Malformed("empty");
  if (version != kRaftCodecVersion) {
    return UnsupportedVersion("raft message: version " + std::to_string(version) +
                              " (this build reads version 1)");
  }
  Message m;
  uint8_t type = 0;
  uint8_t flags = 0;
  if (!r.U8(&type) || !KnownType(type)) return Malformed("unknown type");
  m.type = static_cast<MessageType>(type);
  if (!r.VarU64(&m.from) || !r.VarU64(&m.to) || !r.VarU64(&m.term) || !r.VarU64(&m.log_term) ||
      !r.VarU64(&m.index) || !r.VarU64(&m.commit) || !r.VarU64(&m.reject_hint) || !r.U8(&flags)) {
    return Malformed("truncated header");
  }
  if ((flags & ~kKnownFlags) != 0) return Malformed("unknown flags");
  if (m.from == kNoNode || m.to == kNoNode) return Malformed("sender or receiver is 0");
  m.reject = (flags & kFlagReject) != 0;
  m.force = (flags & kFlagForce) != 0;
  uint64_t n = 0;
  if (!r.VarU64(&n) || n > kMaxEntriesPerMessage) return Malformed("bad entry count");
  if (n > 0 && m.type != MessageType::kAppend) return Malformed("entries on a non-append");
  // Each entry takes at least four bytes: do not reserve what the input cannot hold.
  if (n > r.remaining() / 4) return Malformed("truncated entries");
  m.entries.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    Entry e;
    uint8_t et = 0;
    if (!r.VarU64(&e.term) || !r.VarU64(&e.index) || !r.U8(&et) || et > 2 ||
        !GetBytes(r, kMaxEntryBytes, &e.data)) {
      return Malformed("bad entry");
    }
    e.type = static_cast<EntryType>(et);
    if (e.index != m.index + 1 + i) return Malformed("entries do not follow the append's index");
    if (e.term == 0 || e.term > m.term) return Malformed("entry term outside (0, message term]");
    m.entries.push_back(std::move(e));
  }
  if ((flags & kFlagSnapshot) != 0) {
    if (m.type != MessageType::kSnapshot) return Malformed("snapshot on a non-snapshot message");
    Snapshot s;
    if (!r.VarU64(&s.index) || !r.VarU64(&s.term) || !GetConf(r, &s.conf) ||
        !GetBytes(r, kMaxSnapshotBytes, &s.data)) {
      return Malformed("bad snapshot");
    }
    m.snapshot = std::move(s);
  } else if (m.type == MessageType::kSnapshot) {
    return Malformed("snapshot message without a snapshot");
  }
  if (r.remaining() != 0) return Malformed("trailing bytes");
  return m;
}

std::string EncodeConfState(const ConfState& conf) {
  std::string out;
  ByteWriter w(&out);
  w.U8(kRaftCodecVersion);
  PutConf(w, conf);
  return out;
}

Result<ConfState> DecodeConfState(std::string_view bytes) {
  ByteReader r(bytes);
  uint8_t version = 0;
  if (!r.U8(&version)) return InvalidArgument("raft membership: empty");
  if (version != kRaftCodecVersion) {
    return UnsupportedVersion("raft membership: version " + std::to_string(version));
  }
  ConfState conf;
  if (!GetConf(r, &conf) || r.remaining() != 0)
    return InvalidArgument("raft membership: malformed");
  return conf;
}

}  // namespace sprawl::replication
