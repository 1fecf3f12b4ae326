#include "core/client/route_table.h"

#include <gtest/gtest.h>

namespace sprawl::client {
namespace {

namespace pb = protocol::pb;

// A METADATA answer for `topic` whose partition i is led by leaders[i].
pb::MetadataResponse MetadataOf(const std::string& topic, const std::vector<std::string>& leaders) {
  pb::MetadataResponse metadata;
  pb::TopicMetadata* t = metadata.add_topics();
  t->set_name(topic);
  for (size_t i = 0; i < leaders.size(); ++i) {
    pb::PartitionMetadata* p = t->add_partitions();
    p->set_partition(static_cast<uint32_t>(i));
    p->set_leader_address(leaders[i]);
  }
  return metadata;
}

TEST(RouteTableTest, MetadataSetsAndDropsRoutesAndAFailedNodeLosesAllOfItsOwn) {
  RouteTable table;
  table.Learn(MetadataOf("t", {"tcp://b", "tcp://c", ""}));
  EXPECT_EQ(table.Leader("t", 0), "tcp://b");
  EXPECT_EQ(table.Leader("t", 2), "");
  EXPECT_EQ(table.Leader("u", 0), "");
  table.SetGroup("t", "g", "tcp://b");
  table.Learn(MetadataOf("t", {"", "tcp://c"}));
  EXPECT_EQ(table.Leader("t", 0), "");
  table.SetLeader("t", 5, "tcp://b");
  table.SetLeader("u", 0, "tcp://c");
  EXPECT_EQ(table.DropAddress("tcp://b"), std::vector<std::string>{"t"});
  EXPECT_EQ(table.Leader("t", 5), "");
  EXPECT_EQ(table.Group("t", "g"), "");
  EXPECT_EQ(table.Leader("t", 1), "tcp://c");
  EXPECT_EQ(table.partition_routes(), 2u);    // t 1 and u 0, both on c
  table.SetLeader("t", 1u << 30, "tcp://x");  // beyond the protocol's limit: ignored
  EXPECT_EQ(table.partition_routes(), 2u);    // t 1 and u 0, both on c
}

}  // namespace
}  // namespace sprawl::client
