#pragma once

#include <optional>
#include <vector>

#include "core/replication/entry.h"

namespace sprawl::replication {

// What a group asks its caller to do, taken with Raft::GetReady. The caller
//  1. writes `snapshot` (if any), then `entries` (replacing any stored suffix
//     from entries.front().index on), then `hard_state` (if any), and syncs at
//     least the hard state and snapshot (the entries as its fsync policy says);
//  2. calls Raft::Advance, which only then releases the messages that depend
//     on that state (votes, acknowledgements, appends): no vote or
//     acknowledgement can leave before what it promises is durable;
//  3. applies `snapshot` and then `committed`, in order.
// Only one Ready is out at a time: until Advance, HasReady() is false.
struct Ready {
  std::optional<HardState> hard_state;  // set when it changed
  std::optional<Snapshot> snapshot;     // an installed snapshot to store and apply
  std::vector<Entry> entries;           // to append to the stored log
  std::vector<Entry> committed;         // to apply; already durable once step 1 is done
};

}  // namespace sprawl::replication
