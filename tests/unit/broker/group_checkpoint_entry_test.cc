#include "core/broker/group_checkpoint_entry.h"

#include <gtest/gtest.h>

#include "core/broker/delivery_cursor.h"

namespace sprawl::broker {
namespace {

GroupCheckpointEntry Sample() {
  DeliveryCursor cursor(100, CursorConfig{});
  std::vector<DeadLetter> letters;
  auto taken = cursor.Take("m", 4, 110, 0, &letters);
  EXPECT_TRUE(cursor.Ack(taken[1].offset).ok());
  return {"workers", true, {{0, EncodeCheckpoint(cursor.Checkpoint())}, {2, "raw"}}};
}

TEST(GroupCheckpointEntryTest, RoundTripsWithItsCheckpointsUntouched) {
  const GroupCheckpointEntry entry = Sample();
  auto decoded = DecodeGroupCheckpointEntry(EncodeGroupCheckpointEntry(entry));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, entry);
  auto cursor = DecodeCheckpoint(decoded->cursors[0].second);
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(cursor->ack_floor, 100u);
  EXPECT_EQ(cursor->acked, (std::vector<uint64_t>{101}));
}

TEST(GroupCheckpointEntryTest, RejectsTruncatedNewerAndMalformedEntries) {
  const std::string good = EncodeGroupCheckpointEntry(Sample());
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(DecodeGroupCheckpointEntry(good.substr(0, n)).ok()) << n;
  }
  EXPECT_EQ(DecodeGroupCheckpointEntry(good + "x").status().code(), ErrorCode::kDataCorruption);
  std::string newer = good;
  newer[0] = 2;
  EXPECT_EQ(DecodeGroupCheckpointEntry(newer).status().code(), ErrorCode::kUnsupportedVersion);
  EXPECT_FALSE(DecodeGroupCheckpointEntry(EncodeGroupCheckpointEntry({"", false, {}})).ok());
  std::string bad_start = EncodeGroupCheckpointEntry({"g", false, {}});
  bad_start[4] = 7;  // after the version and the name (u16 length, "g")
  EXPECT_EQ(DecodeGroupCheckpointEntry(bad_start).status().code(), ErrorCode::kDataCorruption);
  // A count larger than the bytes that follow could hold is refused before
  // anything is reserved for it.
  std::string huge = EncodeGroupCheckpointEntry({"g", false, {}});
  huge[5] = huge[6] = huge[7] = huge[8] = '\xff';
  EXPECT_EQ(DecodeGroupCheckpointEntry(huge).status().code(), ErrorCode::kDataCorruption);
}

}  // namespace
}  // namespace sprawl::broker
