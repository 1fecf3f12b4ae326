#include "core/protocol/partitioner.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace sprawl::protocol {
namespace {

// The values are part of the protocol: every client library must produce
// them. Changing them moves keys between partitions in existing topics.
TEST(PartitionerTest, KnownKeysMapToDocumentedPartitions) {
  EXPECT_EQ(PartitionForKey("user-1", 1), 0u);
  EXPECT_EQ(PartitionForKey("user-1", 16), 9u);
  EXPECT_EQ(PartitionForKey("user-1", 7), 3u);
  EXPECT_EQ(PartitionForKey("orders-42", 16), 6u);
  EXPECT_EQ(PartitionForKey("orders-42", 7), 0u);
  EXPECT_EQ(PartitionForKey("a", 16), 15u);
}

TEST(PartitionerTest, SpreadsKeysAcrossPartitions) {
  std::set<uint32_t> seen;
  for (int i = 0; i < 1000; ++i) {
    seen.insert(PartitionForKey("key-" + std::to_string(i), 8));
  }
  EXPECT_EQ(seen.size(), 8u);
}

}  // namespace
}  // namespace sprawl::protocol
