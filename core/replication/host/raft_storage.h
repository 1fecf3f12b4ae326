#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/replication/multi_raft.h"
#include "core/replication/raft.h"
#include "core/storage/store.h"
#include "core/util/result.h"

namespace sprawl::replication {

// The durable state of a node's Raft groups, kept as records of the node's
// store (its state column family, beside and apart from the partition logs):
//
//   raft/<group, 16 hex digits>/boot          the initial membership (ConfState)
//   raft/<group>/hs                           hard state: term, vote, commit
//   raft/<group>/snap                         the latest snapshot: index, term, membership, image
//   raft/<group>/e/<index, 16 hex digits>     one log entry after the snapshot
//
// Every value starts with a format version byte. Writes go through the
// store's group-commit writer, off the event loop. Thread-safe (the store is).
class RaftStorage {
 public:
  // `store` must outlive this object.
  explicit RaftStorage(storage::Store& store) : store_(store) {}

  // Records a new group with its initial membership and waits until that is
  // synced. ALREADY_EXISTS when the group has state already.
  Status Create(GroupId group, const ConfState& initial);
  // What the group persisted, to restart it from; nullopt for a group never
  // created. DATA_CORRUPTION for a record that does not decode or a log with
  // a gap.
  Result<std::optional<PersistedState>> Load(GroupId group) const;

  // Writes the Readies of one MultiRaft turn in one atomic write: for each
  // group its snapshot (replacing the whole stored log), its entries
  // (replacing the stored suffix from the first one's index) and its hard
  // state. The write is synced when any Ready carries a hard state or a
  // snapshot, whatever the fsync policy; entries alone follow the policy.
  // The stored suffix is deleted only when the entries may overwrite some of
  // it: an append after what this object last wrote for the group writes no
  // range deletion (RocksDB slows down, and its WAL recovery crawls, under
  // one range tombstone per append). Loop thread only.
  // `done` runs on the storage writer thread (at once in memory mode); only
  // after it succeeded may the caller call MultiRaft::Advance.
  void Persist(const std::vector<MultiRaft::GroupReady>& readies, std::function<void(Status)> done);
  // Stores an image the application took (Raft::Compact) and drops the
  // entries it covers; synced.
  void SaveSnapshot(GroupId group, const Snapshot& snapshot, std::function<void(Status)> done);
  // Deletes every record of the group.
  Status Drop(GroupId group);
  // The same without waiting: ordered after every earlier write.
  void DropAsync(GroupId group);

 private:
  storage::Store& store_;
  // Per group, the index of the last entry Persist wrote. Unknown (a group
  // not written since this object started) means the stored log may run
  // past any index, so the first write of entries deletes the suffix.
  std::map<GroupId, uint64_t> last_written_;
};

// The record formats, exposed for tests and the fuzz target. Decoders return
// DATA_CORRUPTION for anything truncated, oversized or with trailing bytes,
// UNSUPPORTED_VERSION for a newer format; they never read out of bounds.
std::string EncodeHardStateRecord(const HardState& hs);
Result<HardState> DecodeHardStateRecord(std::string_view bytes);
std::string EncodeEntryRecord(const Entry& entry);
Result<Entry> DecodeEntryRecord(std::string_view bytes);
std::string EncodeSnapshotRecord(const Snapshot& snapshot);
Result<Snapshot> DecodeSnapshotRecord(std::string_view bytes);

// The record key prefix of a group, "raft/<16 hex digits>/".
std::string RaftGroupPrefix(GroupId group);

}  // namespace sprawl::replication
