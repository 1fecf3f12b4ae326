#include "core/replica/control_entry.h"

#include <gtest/gtest.h>

#include "core/storage/batch_format.h"

namespace sprawl::replica {
namespace {

TEST(ControlEntryTest, RoundTripsAndIsToldApartFromARecordBatch) {
  const ControlEntry compact{ControlKind::kCompact, 12345, {}};
  const std::string bytes = EncodeControlEntry(compact);
  EXPECT_TRUE(IsControlEntry(bytes));
  auto decoded = DecodeControlEntry(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, compact);

  // A proposed batch carries base offset 0, where the marker would be.
  std::string batch(storage::batch_format::kHeaderSize + 8, '\0');
  EXPECT_FALSE(IsControlEntry(batch));
  EXPECT_FALSE(IsControlEntry(""));
  EXPECT_FALSE(IsControlEntry(std::string(7, '\xff')));
}

TEST(ControlEntryTest, RejectsTruncatedUnknownAndNewerEntries) {
  const std::string good = EncodeControlEntry({ControlKind::kCompact, 7, {}});
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(DecodeControlEntry(good.substr(0, n)).ok()) << n;
  }
  EXPECT_EQ(DecodeControlEntry(good + "x").status().code(), ErrorCode::kDataCorruption);
  std::string unknown = good;
  unknown[9] = 9;  // the kind
  EXPECT_EQ(DecodeControlEntry(unknown).status().code(), ErrorCode::kDataCorruption);
  std::string newer = good;
  newer[8] = 2;  // the version
  EXPECT_EQ(DecodeControlEntry(newer).status().code(), ErrorCode::kUnsupportedVersion);
}

TEST(PartitionImageTest, RoundTripsAndRejectsAnythingElse) {
  const PartitionImage image{42, 1000};
  auto decoded = DecodePartitionImage(EncodePartitionImage(image));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, image);
  const std::string bytes = EncodePartitionImage(image);
  EXPECT_FALSE(DecodePartitionImage(bytes.substr(0, 16)).ok());
  EXPECT_FALSE(DecodePartitionImage(bytes + "x").ok());
  EXPECT_FALSE(DecodePartitionImage("\x02" + bytes.substr(1)).ok());
}

TEST(ReplicaRemovedTest, RoundTripsAGroupIdAndRejectsAnyOtherLength) {
  const std::string body = EncodeReplicaRemoved(0x0123456789abcdefULL);
  ASSERT_EQ(body.size(), 8u);
  auto group = DecodeReplicaRemoved(body);
  ASSERT_TRUE(group.ok());
  EXPECT_EQ(*group, 0x0123456789abcdefULL);
  for (size_t n = 0; n < body.size(); ++n) {
    EXPECT_EQ(DecodeReplicaRemoved(body.substr(0, n)).status().code(), ErrorCode::kDataCorruption);
  }
  EXPECT_FALSE(DecodeReplicaRemoved(body + "x").ok());
}

}  // namespace
}  // namespace sprawl::replica
