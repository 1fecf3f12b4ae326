// A new group's record is written off the loop: joins meanwhile wait for it,
// and a topic deleted meanwhile leaves no group behind.
#include <gtest/gtest.h>

#include "broker_fixture.h"

namespace sprawl::broker {
namespace {

class GroupJoinTest : public testing::BrokerTest {
 protected:
  static pb::JoinGroupRequest Join(const std::string& topic, const std::string& group) {
    pb::JoinGroupRequest join;
    join.set_topic(topic);
    join.set_group(group);
    join.set_start(pb::OFFSET_EARLIEST);
    return join;
  }
};

TEST_P(GroupJoinTest, JoinsWhileANewGroupsRecordIsWrittenJoinTheSameGroup) {
  CreateTopic("orders", 2);
  std::optional<Result<pb::JoinGroupResponse>> first, second;
  broker_->JoinGroup(Join("orders", "workers"), "conn-1",
                     [&](Result<pb::JoinGroupResponse> r) { first.emplace(std::move(r)); });
  broker_->JoinGroup(Join("orders", "workers"), "conn-2",
                     [&](Result<pb::JoinGroupResponse> r) { second.emplace(std::move(r)); });
  EXPECT_FALSE(first.has_value()) << "the reply waits for the group's record";
  loop_.RunUntil([&] { return first.has_value() && second.has_value(); });
  ASSERT_TRUE(first->ok()) << first->status().ToString();
  ASSERT_TRUE(second->ok()) << second->status().ToString();
  EXPECT_NE(first->value().member_id(), second->value().member_id());
  EXPECT_EQ(broker_->ListGroups({}).groups_size(), 1);
  pb::DescribeGroupRequest describe;
  describe.set_topic("orders");
  describe.set_group("workers");
  auto d = broker_->DescribeGroup(describe);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->members_size(), 2);
}

TEST_P(GroupJoinTest, AJoinInFlightWhenItsTopicIsDeletedLeavesNoGroup) {
  CreateTopic("orders", 1);
  std::optional<Result<pb::JoinGroupResponse>> joined;
  broker_->JoinGroup(Join("orders", "workers"), "conn-1",
                     [&](Result<pb::JoinGroupResponse> r) { joined.emplace(std::move(r)); });
  std::optional<Status> deleted;
  pb::DeleteTopicRequest del;
  del.set_name("orders");
  broker_->DeleteTopic(del, [&](Status s) { deleted.emplace(std::move(s)); });
  loop_.RunUntil([&] { return joined.has_value() && deleted.has_value(); });
  EXPECT_EQ(joined->status().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(deleted->ok()) << deleted->ToString();
  EXPECT_EQ(broker_->ListGroups({}).groups_size(), 0);
  auto records = store_->ScanRecords("group/");
  ASSERT_TRUE(records.ok());
  EXPECT_TRUE(records->empty()) << "the group's record was deleted with its topic";
  if (!disk()) return;
  Open();
  EXPECT_EQ(broker_->ListGroups({}).groups_size(), 0);
}

INSTANTIATE_TEST_SUITE_P(BothModes, GroupJoinTest, testing::BothStorageModes(),
                         testing::StorageModeName);

}  // namespace
}  // namespace sprawl::broker
