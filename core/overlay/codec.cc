#include "core/overlay/codec.h"

#include "core/util/byte_io.h"

namespace sprawl::overlay {
namespace {

void PutString(ByteWriter& w, std::string_view s) {
  w.VarU64(s.size());
  w.Bytes(s);
}

bool GetString(ByteReader& r, std::string* out) {
  uint64_t n = 0;
  std::string_view view;
  if (!r.VarU64(&n) || n > kMaxStringBytes || !r.Bytes(n, &view)) return false;
  out->assign(view);
  return true;
}

void PutMeta(ByteWriter& w, const NodeMeta& m) {
  PutString(w, m.id);
  PutString(w, m.peer_address);
  PutString(w, m.client_address);
  PutString(w, m.http_address);
  PutString(w, m.rack);
  w.VarU64(static_cast<uint64_t>(m.start_time_ms));
  w.VarU64(m.load);
}

bool GetMeta(ByteReader& r, NodeMeta* m) {
  uint64_t start = 0;
  uint64_t load = 0;
  if (!GetString(r, &m->id) || !GetString(r, &m->peer_address) ||
      !GetString(r, &m->client_address) || !GetString(r, &m->http_address) ||
      !GetString(r, &m->rack) || !r.VarU64(&start) || !r.VarU64(&load) || load > UINT32_MAX) {
    return false;
  }
  m->start_time_ms = static_cast<int64_t>(start);
  m->load = static_cast<uint32_t>(load);
  return !m->id.empty();
}

}  // namespace

std::string_view MemberStateName(MemberState state) {
  switch (state) {
    case MemberState::kAlive:
      return "alive";
    case MemberState::kSuspect:
      return "suspect";
    case MemberState::kDead:
      return "dead";
    case MemberState::kLeft:
      return "left";
  }
  return "unknown";
}

std::string Encode(const Message& m) {
  std::string out;
  ByteWriter w(&out);
  w.U8(kCodecVersion);
  w.U8(static_cast<uint8_t>(m.kind));
  PutString(w, m.sender);
  PutString(w, m.sender_address);
  w.VarU64(m.sequence);
  PutString(w, m.target);
  PutString(w, m.target_address);
  w.VarU64(m.updates.size());
  for (const Update& u : m.updates) {
    w.U8(static_cast<uint8_t>(u.state));
    w.VarU64(u.incarnation);
    PutMeta(w, u.meta);
    PutString(w, u.from);
  }
  return out;
}

Result<Message> Decode(std::string_view bytes) {
  ByteReader r(bytes);
  auto bad = [](const std::string& why) { return InvalidArgument("gossip message: " + why); };
  uint8_t version = 0;
  uint8_t kind = 0;
  if (!r.U8(&version) || !r.U8(&kind)) return bad("truncated header");
  if (version != kCodecVersion) return bad("unknown version " + std::to_string(version));
  if (kind < 1 || kind > 5) return bad("unknown kind " + std::to_string(kind));
  Message m;
  m.kind = static_cast<MessageKind>(kind);
  uint64_t count = 0;
  if (!GetString(r, &m.sender) || !GetString(r, &m.sender_address) || !r.VarU64(&m.sequence) ||
      !GetString(r, &m.target) || !GetString(r, &m.target_address) || !r.VarU64(&count)) {
    return bad("truncated or oversized field");
  }
  if (m.sender.empty()) return bad("no sender");
  // Each update takes well over one byte: a count beyond what is left is a lie.
  if (count > kMaxUpdatesPerMessage || count > r.remaining()) {
    return bad("too many updates (" + std::to_string(count) + ")");
  }
  m.updates.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    Update u;
    uint8_t state = 0;
    if (!r.U8(&state) || state > 3 || !r.VarU64(&u.incarnation) || !GetMeta(r, &u.meta) ||
        !GetString(r, &u.from)) {
      return bad("malformed update " + std::to_string(i));
    }
    u.state = static_cast<MemberState>(state);
    m.updates.push_back(std::move(u));
  }
  if (r.remaining() != 0) return bad(std::to_string(r.remaining()) + " bytes left over");
  return m;
}

}  // namespace sprawl::overlay
