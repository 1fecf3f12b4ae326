#include "core/storage/partition_state_codec.h"

#include <gtest/gtest.h>

#include "core/storage/keys.h"
#include "core/storage/segment_index.h"

namespace sprawl::storage {
namespace {

TEST(PartitionStateCodecTest, RoundTripsEveryRecord) {
  const auto start = state_codec::DecodeLogStart(state_codec::EncodeLogStart({42, 7}));
  ASSERT_TRUE(start.ok());
  EXPECT_EQ(start->first_offset, 42u);
  EXPECT_EQ(start->prev_term, 7u);
  EXPECT_EQ(*state_codec::DecodeOffset(state_codec::EncodeOffset(1ull << 60)), 1ull << 60);
  EXPECT_EQ(*state_codec::DecodePartitionId(state_codec::EncodePartitionId(9)), 9u);
  const auto snapshot =
      state_codec::DecodeSnapshot(state_codec::EncodeSnapshot({99, 3, std::string("a\0b", 3)}));
  ASSERT_TRUE(snapshot.ok());
  EXPECT_EQ(snapshot->last_offset, 99u);
  EXPECT_EQ(snapshot->last_term, 3u);
  EXPECT_EQ(snapshot->data, std::string("a\0b", 3));
  const SegmentInfo segment{10, 19, 500, 2, -5, 4};
  const auto decoded = SegmentInfo::Decode(10, segment.Encode());
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->last_offset, 19u);
  EXPECT_EQ(decoded->max_timestamp_ms, -5);
}

TEST(PartitionStateCodecTest, RejectsVersionZeroNewerVersionsAndTruncation) {
  std::string offset = state_codec::EncodeOffset(5);
  offset[0] = 0;
  EXPECT_EQ(state_codec::DecodeOffset(offset).status().code(), ErrorCode::kDataCorruption);
  offset[0] = 2;
  EXPECT_EQ(state_codec::DecodeOffset(offset).status().code(), ErrorCode::kUnsupportedVersion);
  const std::string start = state_codec::EncodeLogStart({1, 1});
  EXPECT_EQ(state_codec::DecodeLogStart(start.substr(0, start.size() - 1)).status().code(),
            ErrorCode::kDataCorruption);
  EXPECT_EQ(state_codec::DecodeLogStart(start + "x").status().code(), ErrorCode::kDataCorruption);
  std::string segment = SegmentInfo{0, 1, 1, 1, 0, 0}.Encode();
  segment[0] = 0;
  EXPECT_EQ(SegmentInfo::Decode(0, segment).status().code(), ErrorCode::kDataCorruption);
  // A segment cannot end before it starts.
  EXPECT_EQ(SegmentInfo::Decode(5, SegmentInfo{5, 1, 1, 1, 0, 0}.Encode()).status().code(),
            ErrorCode::kDataCorruption);
}

TEST(KeysTest, OffsetKeysSortByPartitionThenOffset) {
  EXPECT_LT(keys::Offset(1, 255), keys::Offset(1, 256));
  EXPECT_LT(keys::Offset(1, ~0ull), keys::PartitionEnd(1));
  EXPECT_LT(keys::PartitionEnd(1), keys::Offset(2, 0));
  uint32_t id = 0;
  uint64_t offset = 0;
  ASSERT_TRUE(keys::ParseOffset(keys::Offset(7, 123456789), &id, &offset));
  EXPECT_EQ(id, 7u);
  EXPECT_EQ(offset, 123456789u);
  EXPECT_FALSE(keys::ParseOffset("short", &id, &offset));
  PartitionKey key;
  ASSERT_TRUE(keys::ParseRegistry(keys::Registry({"orders.v2", 12}), &key));
  EXPECT_EQ(key.topic, "orders.v2");
  EXPECT_EQ(key.partition, 12u);
  EXPECT_FALSE(keys::ParseRegistry("reg/orders/x", &key));
  EXPECT_LT(keys::PartitionState(3, "commit"), keys::PartitionStateEnd(3));
  EXPECT_LT(keys::PartitionStateEnd(3), keys::PartitionState(4, ""));
}

}  // namespace
}  // namespace sprawl::storage
