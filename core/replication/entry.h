#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sprawl::replication {

// A node of a Raft group. 0 means "nobody" (no vote, no known leader).
using NodeId = uint64_t;
inline constexpr NodeId kNoNode = 0;

enum class EntryType : uint8_t {
  kNormal = 0,      // application data
  kNoop = 1,        // appended by every new leader so that it can commit in its own term
  kConfChange = 2,  // data is an encoded ConfState: the group's membership from this entry on
};

// One log entry. Index and term identify it: two logs holding an entry with
// the same index and term agree on it and on everything before it.
struct Entry {
  uint64_t term = 0;
  uint64_t index = 0;
  EntryType type = EntryType::kNormal;
  std::string data;

  friend bool operator==(const Entry&, const Entry&) = default;
};

// What must survive a crash before this node says anything that depends on
// it: the current term, the vote cast in it, and the commit index.
struct HardState {
  uint64_t term = 0;
  NodeId vote = kNoNode;
  uint64_t commit = 0;

  friend bool operator==(const HardState&, const HardState&) = default;
};

// The group's membership: voters decide elections and commits; learners only
// receive the log. Both lists are sorted and disjoint.
struct ConfState {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;

  friend bool operator==(const ConfState&, const ConfState&) = default;
};

// A state machine image that replaces every log entry up to `index`.
struct Snapshot {
  uint64_t index = 0;
  uint64_t term = 0;
  ConfState conf;
  std::string data;  // the application's image; opaque to Raft

  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

}  // namespace sprawl::replication
