#include "core/replication/host/raft_storage.h"

#include "core/util/logging.h"

#include <cstdio>
#include <future>

#include "core/replication/codec.h"
#include "core/util/byte_io.h"

namespace sprawl::replication {
namespace {

constexpr uint8_t kRecordVersion = 1;
using RecordWrite = storage::Store::RecordWrite;

std::string Hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return std::string(buf, 16);
}

bool ParseHex16(std::string_view s, uint64_t* out) {
  if (s.size() != 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    v <<= 4;
    if (c >= '0' && c <= '9') {
      v |= static_cast<uint64_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v |= static_cast<uint64_t>(c - 'a' + 10);
    } else {
      return false;
    }
  }
  *out = v;
  return true;
}

std::string EntryKey(GroupId group, uint64_t index) {
  return RaftGroupPrefix(group) + "e/" + Hex16(index);
}
// The first key past every entry key of the group ('f' follows 'e' and '/' < '0').
std::string EntriesEnd(GroupId group) { return RaftGroupPrefix(group) + "e0"; }
std::string Key(GroupId group, std::string_view field) {
  return RaftGroupPrefix(group) + std::string(field);
}

Status Corrupt(std::string_view what) {
  return DataCorruption("raft state: " + std::string(what) + " does not decode");
}

// Checks the version byte and returns a reader positioned after it.
Result<ByteReader> Open(std::string_view bytes, std::string_view what) {
  if (bytes.empty()) return Corrupt(what);
  const auto version = static_cast<uint8_t>(bytes[0]);
  if (version > kRecordVersion) {
    return UnsupportedVersion("raft state: " + std::string(what) + " has version " +
                              std::to_string(version) + "; this build reads up to " +
                              std::to_string(kRecordVersion));
  }
  if (version == 0) return Corrupt(what);
  return ByteReader(bytes.substr(1));
}

Status Wait(std::function<void(std::function<void(Status)>)> start) {
  std::promise<Status> promise;
  auto future = promise.get_future();
  start([&promise](Status s) { promise.set_value(std::move(s)); });
  return future.get();
}

}  // namespace

std::string RaftGroupPrefix(GroupId group) { return "raft/" + Hex16(group) + "/"; }

std::string EncodeHardStateRecord(const HardState& hs) {
  std::string out;
  ByteWriter w(&out);
  w.U8(kRecordVersion);
  w.U64(hs.term);
  w.U64(hs.vote);
  w.U64(hs.commit);
  return out;
}

Result<HardState> DecodeHardStateRecord(std::string_view bytes) {
  SPRAWL_ASSIGN_OR_RETURN(ByteReader r, Open(bytes, "hard state"));
  HardState hs;
  if (!r.U64(&hs.term) || !r.U64(&hs.vote) || !r.U64(&hs.commit) || r.remaining() != 0) {
    return Corrupt("hard state");
  }
  return hs;
}

std::string EncodeEntryRecord(const Entry& e) {
  std::string out;
  out.reserve(18 + e.data.size());
  ByteWriter w(&out);
  w.U8(kRecordVersion);
  w.U64(e.term);
  w.U64(e.index);
  w.U8(static_cast<uint8_t>(e.type));
  w.Bytes(e.data);
  return out;
}

Result<Entry> DecodeEntryRecord(std::string_view bytes) {
  SPRAWL_ASSIGN_OR_RETURN(ByteReader r, Open(bytes, "log entry"));
  Entry e;
  uint8_t type = 0;
  if (!r.U64(&e.term) || !r.U64(&e.index) || !r.U8(&type) ||
      type > static_cast<uint8_t>(EntryType::kConfChange) || r.remaining() > kMaxEntryBytes) {
    return Corrupt("log entry");
  }
  e.type = static_cast<EntryType>(type);
  std::string_view data;
  r.Bytes(r.remaining(), &data);
  e.data.assign(data);
  return e;
}

std::string EncodeSnapshotRecord(const Snapshot& s) {
  std::string out;
  ByteWriter w(&out);
  w.U8(kRecordVersion);
  w.U64(s.index);
  w.U64(s.term);
  const std::string conf = EncodeConfState(s.conf);
  w.VarU64(conf.size());
  w.Bytes(conf);
  w.Bytes(s.data);
  return out;
}

Result<Snapshot> DecodeSnapshotRecord(std::string_view bytes) {
  SPRAWL_ASSIGN_OR_RETURN(ByteReader r, Open(bytes, "snapshot"));
  Snapshot s;
  uint64_t conf_size = 0;
  std::string_view conf;
  if (!r.U64(&s.index) || !r.U64(&s.term) || !r.VarU64(&conf_size) || conf_size > r.remaining() ||
      !r.Bytes(conf_size, &conf) || r.remaining() > kMaxSnapshotBytes) {
    return Corrupt("snapshot");
  }
  auto decoded = DecodeConfState(conf);
  if (!decoded.ok()) return Corrupt("snapshot membership");
  s.conf = std::move(*decoded);
  std::string_view data;
  r.Bytes(r.remaining(), &data);
  s.data.assign(data);
  return s;
}

Status RaftStorage::Create(GroupId group, const ConfState& initial) {
  SPRAWL_ASSIGN_OR_RETURN(auto existing, store_.ScanRecords(RaftGroupPrefix(group)));
  if (!existing.empty()) {
    return AlreadyExists("raft group " + std::to_string(group) + " already has stored state");
  }
  std::string boot(1, static_cast<char>(kRecordVersion));
  boot += EncodeConfState(initial);
  std::vector<RecordWrite> writes;
  writes.push_back({RecordWrite::Kind::kPut, Key(group, "boot"), std::move(boot)});
  return Wait([&](std::function<void(Status)> done) {
    store_.WriteRecordsAsync(std::move(writes), /*sync=*/true, std::move(done));
  });
}

Result<std::optional<PersistedState>> RaftStorage::Load(GroupId group) const {
  const std::string prefix = RaftGroupPrefix(group);
  SPRAWL_ASSIGN_OR_RETURN(auto records, store_.ScanRecords(prefix));
  if (records.empty()) return std::optional<PersistedState>();
  PersistedState state;
  bool booted = false;
  std::vector<Entry> entries;
  for (auto& [key, value] : records) {
    const std::string_view field = std::string_view(key).substr(prefix.size());
    if (field == "boot") {
      SPRAWL_ASSIGN_OR_RETURN(ByteReader r, Open(value, "initial membership"));
      std::string_view rest;
      r.Bytes(r.remaining(), &rest);
      auto conf = DecodeConfState(rest);
      if (!conf.ok()) return Corrupt("initial membership");
      state.initial_conf = std::move(*conf);
      booted = true;
    } else if (field == "hs") {
      SPRAWL_ASSIGN_OR_RETURN(state.hard_state, DecodeHardStateRecord(value));
    } else if (field == "snap") {
      SPRAWL_ASSIGN_OR_RETURN(Snapshot s, DecodeSnapshotRecord(value));
      state.snapshot = std::move(s);
    } else if (field.starts_with("e/")) {
      uint64_t index = 0;
      if (!ParseHex16(field.substr(2), &index)) return Corrupt("log entry key " + key);
      SPRAWL_ASSIGN_OR_RETURN(Entry e, DecodeEntryRecord(value));
      if (e.index != index) return Corrupt("log entry " + key + " (its index differs)");
      entries.push_back(std::move(e));
    } else {
      return DataCorruption("raft state: unknown record " + key);
    }
  }
  if (!booted) {
    return DataCorruption("raft state of group " + std::to_string(group) +
                          " has no initial membership record");
  }
  // Entries the snapshot covers may survive a crash between the snapshot's
  // write and their deletion only if written apart; skip them either way.
  const uint64_t snap_index = state.snapshot ? state.snapshot->index : 0;
  for (Entry& e : entries) {
    if (e.index <= snap_index) continue;
    const uint64_t expected =
        state.entries.empty() ? snap_index + 1 : state.entries.back().index + 1;
    if (e.index != expected) {
      return DataCorruption("raft state of group " + std::to_string(group) + ": log entry " +
                            std::to_string(e.index) + " follows " + std::to_string(expected - 1));
    }
    state.entries.push_back(std::move(e));
  }
  return std::optional<PersistedState>(std::move(state));
}

void RaftStorage::Persist(const std::vector<MultiRaft::GroupReady>& readies,
                          std::function<void(Status)> done) {
  std::vector<RecordWrite> writes;
  bool sync = false;
  for (const MultiRaft::GroupReady& gr : readies) {
    const Ready& rd = gr.ready;
    if (rd.snapshot) {
      // An installed snapshot replaces the whole log.
      writes.push_back(
          {RecordWrite::Kind::kDeleteRange, Key(gr.group, "e/"), EntriesEnd(gr.group)});
      writes.push_back(
          {RecordWrite::Kind::kPut, Key(gr.group, "snap"), EncodeSnapshotRecord(*rd.snapshot)});
      sync = true;
      last_written_[gr.group] = rd.snapshot->index;  // no entry after it is stored
    }
    if (!rd.entries.empty()) {
      auto last = last_written_.find(gr.group);
      if (last == last_written_.end() || rd.entries.front().index <= last->second) {
        // A new leader's entries replacing a conflicting suffix (or a log
        // this object has not written yet): drop what follows first.
        writes.push_back({RecordWrite::Kind::kDeleteRange,
                          EntryKey(gr.group, rd.entries.front().index), EntriesEnd(gr.group)});
      }
      last_written_[gr.group] = rd.entries.back().index;
      for (const Entry& e : rd.entries) {
        writes.push_back(
            {RecordWrite::Kind::kPut, EntryKey(gr.group, e.index), EncodeEntryRecord(e)});
      }
    }
    if (rd.hard_state) {
      writes.push_back(
          {RecordWrite::Kind::kPut, Key(gr.group, "hs"), EncodeHardStateRecord(*rd.hard_state)});
      sync = true;
    }
  }
  if (writes.empty()) {
    done(Status::Ok());
    return;
  }
  store_.WriteRecordsAsync(std::move(writes), sync, std::move(done));
}

void RaftStorage::SaveSnapshot(GroupId group, const Snapshot& snapshot,
                               std::function<void(Status)> done) {
  std::vector<RecordWrite> writes;
  writes.push_back({RecordWrite::Kind::kPut, Key(group, "snap"), EncodeSnapshotRecord(snapshot)});
  writes.push_back(
      {RecordWrite::Kind::kDeleteRange, Key(group, "e/"), EntryKey(group, snapshot.index + 1)});
  store_.WriteRecordsAsync(std::move(writes), /*sync=*/true, std::move(done));
}

Status RaftStorage::Drop(GroupId group) {
  last_written_.erase(group);
  return store_.DeleteRecords(RaftGroupPrefix(group));
}

void RaftStorage::DropAsync(GroupId group) {
  last_written_.erase(group);
  std::string first = RaftGroupPrefix(group);
  std::string end = first;
  end.back() = static_cast<char>(end.back() + 1);  // past every key under the prefix
  using RecordWrite = storage::Store::RecordWrite;
  store_.WriteRecordsAsync({RecordWrite{RecordWrite::Kind::kDeleteRange, first, end}},
                           /*sync=*/false, [group](Status s) {
                             if (!s.ok()) {
                               log::Warn(
                                   "raft group state not deleted",
                                   {{"group", std::to_string(group)}, {"error", s.ToString()}});
                             }
                           });
}

}  // namespace sprawl::replication
