// libFuzzer target for the Raft wire codecs (core/replication/codec.h and
// the per-peer batch of multi_raft.h): every Raft message from a peer goes
// through DecodeBatch and DecodeMessage. A message that decodes
// must encode to bytes that decode to an equal message; the membership
// decoder must survive the entries' data; and a Raft node, as follower and
// as leader, must survive receiving the message.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/replication/codec.h"
#include "core/replication/multi_raft.h"
#include "core/replication/raft.h"
#include "fuzz/fuzz_support.h"

namespace {

using namespace sprawl::replication;

// Hands out and acknowledges every Ready, as a node's loop would.
void Drain(Raft& r) {
  for (int i = 0; i < 4 && r.HasReady(); ++i) {
    (void)r.GetReady();
    (void)r.Advance();
  }
}

Raft NewNode() {
  RaftConfig c;
  c.id = 1;
  PersistedState s;
  s.initial_conf.voters = {1, 2, 3};
  s.entries = {{1, 1, EntryType::kNoop, ""}, {1, 2, EntryType::kNormal, "a"}};
  s.hard_state = {1, 0, 1};
  return Raft(c, s);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sprawl::fuzz::ExactBuffer input(std::string_view(reinterpret_cast<const char*>(data), size));
  // The same bytes as a multi-group batch: a batch that decodes re-encodes to itself.
  if (auto batch = DecodeBatch(input.view()); batch.ok()) {
    auto again = DecodeBatch(EncodeBatch(*batch));
    FUZZ_CHECK(again.ok() && *again == *batch);
  }
  auto decoded = DecodeMessage(input.view());
  if (!decoded.ok()) {
    FUZZ_CHECK(decoded.status().code() == sprawl::ErrorCode::kInvalidArgument ||
               decoded.status().code() == sprawl::ErrorCode::kUnsupportedVersion);
    (void)DecodeConfState(input.view());
    return 0;
  }
  auto again = DecodeMessage(EncodeMessage(*decoded));
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *decoded);
  for (const Entry& e : decoded->entries) (void)DecodeConfState(e.data);

  Raft follower = NewNode();
  follower.Step(*decoded);
  Drain(follower);
  follower.Tick();
  follower.Step(*decoded);
  Drain(follower);

  // A leader of term 2: it campaigns and node 2 votes for it.
  Raft leader = NewNode();
  Message timeout;
  timeout.type = MessageType::kTimeoutNow;
  timeout.from = 2;
  timeout.to = 1;
  timeout.term = 1;
  leader.Step(timeout);
  Message vote;
  vote.type = MessageType::kVoteResponse;
  vote.from = 2;
  vote.to = 1;
  vote.term = 2;
  leader.Step(vote);
  Drain(leader);
  FUZZ_CHECK(leader.role() == Role::kLeader);
  leader.Step(*decoded);
  Drain(leader);
  leader.Tick();
  Drain(leader);
  return 0;
}
