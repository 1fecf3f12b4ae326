#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/replication/entry.h"

namespace sprawl::replication {

enum class MessageType : uint8_t {
  kPreVote = 1,  // "would you vote for me at term+1?" (changes no state)
  kPreVoteResponse = 2,
  kVote = 3,
  kVoteResponse = 4,
  kAppend = 5,  // entries after (index, log_term), and the leader's commit
  kAppendResponse = 6,
  kHeartbeat = 7,  // the leader's commit, capped at what the follower matches
  kHeartbeatResponse = 8,
  kSnapshot = 9,    // install `snapshot`
  kTimeoutNow = 10  // leadership transfer: campaign now, ignoring the leader lease
};

// One Raft message. Which fields mean something depends on the type:
//  (pre)vote:         index/log_term = the candidate's last entry; force = a transfer
//  (pre)vote resp.:   reject
//  append:            index/log_term = the entry before `entries`; commit
//  append resp.:      index = last matching index (accept) or the rejected index;
//                     reject_hint/log_term = where the follower's log may match (reject)
//  heartbeat:         commit
//  snapshot:          snapshot
struct Message {
  MessageType type = MessageType::kHeartbeat;
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  uint64_t term = 0;
  uint64_t log_term = 0;
  uint64_t index = 0;
  uint64_t commit = 0;
  uint64_t reject_hint = 0;
  bool reject = false;
  bool force = false;
  std::vector<Entry> entries;
  std::optional<Snapshot> snapshot;

  friend bool operator==(const Message&, const Message&) = default;
};

// Whether a message is a response (it never starts an exchange).
inline bool IsResponse(MessageType t) {
  return t == MessageType::kPreVoteResponse || t == MessageType::kVoteResponse ||
         t == MessageType::kAppendResponse || t == MessageType::kHeartbeatResponse;
}

}  // namespace sprawl::replication
