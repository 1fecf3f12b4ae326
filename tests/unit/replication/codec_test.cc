// The Raft wire codec: round trips, and a validating decoder that reports
// every malformed input as an error value.
#include <gtest/gtest.h>

#include "core/replication/codec.h"

namespace sprawl::replication {
namespace {

Message AppendWithEntries() {
  Message m;
  m.type = MessageType::kAppend;
  m.from = 1;
  m.to = 2;
  m.term = 7;
  m.index = 10;
  m.log_term = 6;
  m.commit = 9;
  m.entries = {{7, 11, EntryType::kNoop, ""}, {7, 12, EntryType::kNormal, "hello"}};
  return m;
}

TEST(RaftCodecTest, EveryMessageTypeRoundTrips) {
  std::vector<Message> all;
  all.push_back(AppendWithEntries());
  Message snap;
  snap.type = MessageType::kSnapshot;
  snap.from = 3;
  snap.to = 4;
  snap.term = 2;
  snap.snapshot = Snapshot{100, 2, {{1, 3, 4}, {9}}, std::string("image\0bytes", 11)};
  all.push_back(snap);
  Message resp;
  resp.type = MessageType::kAppendResponse;
  resp.from = 2;
  resp.to = 1;
  resp.term = 7;
  resp.index = 12;
  resp.reject = true;
  resp.reject_hint = 5;
  resp.log_term = 3;
  all.push_back(resp);
  Message vote;
  vote.type = MessageType::kPreVote;
  vote.from = 1ull << 60;
  vote.to = 2;
  vote.term = ~0ull;
  vote.force = true;
  all.push_back(vote);
  for (const Message& m : all) {
    auto d = DecodeMessage(EncodeMessage(m));
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    EXPECT_EQ(*d, m);
  }
}

TEST(RaftCodecTest, EveryTruncationIsAnErrorNotACrash) {
  const std::string bytes = EncodeMessage(AppendWithEntries());
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto d = DecodeMessage(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(d.ok()) << n;
    EXPECT_EQ(d.status().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(RaftCodecTest, AnotherVersionIsUnsupported) {
  std::string bytes = EncodeMessage(AppendWithEntries());
  bytes[0] = 2;
  EXPECT_EQ(DecodeMessage(bytes).status().code(), ErrorCode::kUnsupportedVersion);
}

TEST(RaftCodecTest, ContradictoryFieldsAreRejected) {
  Message m = AppendWithEntries();
  m.entries[1].index = 20;  // a gap
  EXPECT_FALSE(DecodeMessage(EncodeMessage(m)).ok());
  m = AppendWithEntries();
  m.entries[0].term = 8;  // newer than the leader's term
  EXPECT_FALSE(DecodeMessage(EncodeMessage(m)).ok());
  m = AppendWithEntries();
  m.type = MessageType::kHeartbeat;  // entries on a heartbeat
  EXPECT_FALSE(DecodeMessage(EncodeMessage(m)).ok());
  m = AppendWithEntries();
  m.from = 0;
  EXPECT_FALSE(DecodeMessage(EncodeMessage(m)).ok());
  std::string bytes = EncodeMessage(AppendWithEntries());
  bytes.push_back('\0');
  EXPECT_FALSE(DecodeMessage(bytes).ok()) << "trailing bytes";
  bytes = EncodeMessage(AppendWithEntries());
  bytes[1] = 42;
  EXPECT_FALSE(DecodeMessage(bytes).ok()) << "unknown type";
}

TEST(RaftCodecTest, AHugeEntryCountIsRejectedBeforeAnyAllocation) {
  std::string bytes;
  Message m;
  m.type = MessageType::kAppend;
  m.from = 1;
  m.to = 2;
  EncodeMessage(m, &bytes);
  bytes.pop_back();  // the zero entry count
  for (int i = 0; i < 3; ++i) bytes.push_back('\xff');
  bytes.push_back('\x0f');  // ~33 million entries, and no bytes for them
  auto d = DecodeMessage(bytes);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace sprawl::replication
