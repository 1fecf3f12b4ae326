// Which replicas a gone member's partitions get: the pure decision the
// metadata group's leader proposes as a move.
#include "core/meta/replica_replacement.h"

#include <gtest/gtest.h>

namespace sprawl::meta {
namespace {

MetaTopic Placed(uint32_t factor, std::vector<std::vector<std::string>> assignment) {
  MetaTopic t;
  t.topic_id = "id";
  t.config.partitions = static_cast<uint32_t>(assignment.size());
  t.config.replication_factor = factor;
  t.assignment = std::move(assignment);
  t.moves.assign(t.assignment.size(), 0);
  return t;
}

// Every partition ranks the live members the same way here.
std::vector<std::string> Ranked(uint32_t) { return {"n4", "n1", "n2", "n5", "n3"}; }

TEST(ReplicaReplacementTest, AGoneMembersPlaceGoesToTheFirstRankedMemberNotInTheSet) {
  const MetaTopic t = Placed(3, {{"n1", "n2", "n3"}, {"n2", "n4", "n1"}, {"n4", "n5", "n2"}});
  auto moved = ReplaceGoneReplicas(t, {"n2"}, Ranked);
  ASSERT_TRUE(moved.has_value());
  const std::vector<std::vector<std::string>> want = {
      {"n1", "n4", "n3"},  // n2's place, keeping the others' order
      {"n5", "n4", "n1"},  // n4 and n1 are in the set already
      {"n4", "n5", "n1"}};
  EXPECT_EQ(*moved, want);
}

TEST(ReplicaReplacementTest, TwoGoneMembersOfOnePartitionAreBothReplaced) {
  const MetaTopic t = Placed(3, {{"n1", "n2", "n3"}});
  auto moved = ReplaceGoneReplicas(t, {"n1", "n3"}, Ranked);
  ASSERT_TRUE(moved.has_value());
  EXPECT_EQ(*moved, (std::vector<std::vector<std::string>>{{"n4", "n2", "n5"}}));
}

TEST(ReplicaReplacementTest, NothingMovesWithoutAGoneReplicaOrAReplacement) {
  const MetaTopic t = Placed(3, {{"n1", "n2", "n3"}});
  EXPECT_FALSE(ReplaceGoneReplicas(t, {}, Ranked).has_value());
  EXPECT_FALSE(ReplaceGoneReplicas(t, {"n9"}, Ranked).has_value());
  // No live member is left outside the set: the partition waits.
  EXPECT_FALSE(ReplaceGoneReplicas(t, {"n1"}, [](uint32_t) {
                 return std::vector<std::string>{"n2", "n3"};
               }).has_value());
  // A gone member is never its own replacement, even if still ranked.
  EXPECT_FALSE(ReplaceGoneReplicas(t, {"n1"}, [](uint32_t) {
                 return std::vector<std::string>{"n1", "n2", "n3"};
               }).has_value());
  // One replica per partition: no Raft group to move.
  EXPECT_FALSE(ReplaceGoneReplicas(Placed(1, {{"n1"}}), {"n1"}, Ranked).has_value());
  // Not placed (a topic from before assignments were recorded).
  EXPECT_FALSE(ReplaceGoneReplicas(Placed(3, {}), {"n1"}, Ranked).has_value());
}

TEST(ReplicaReplacementTest, AMoveAppliesOnlyToTheSameTopicWithSetsOfTheSameSize) {
  MetaState s;
  broker::TopicConfig config;
  config.partitions = 2;
  config.replication_factor = 2;
  MetaCommand create{
      MetaCommand::Kind::kCreate,  "n1/1", "orders", "id1", broker::EncodeTopicConfig(config),
      {{"n1", "n2"}, {"n2", "n3"}}};
  ASSERT_TRUE(s.Apply(create).ok());
  auto move = [](std::string id, std::vector<std::vector<std::string>> sets, std::string req) {
    return MetaCommand{MetaCommand::Kind::kMove, req, "orders", id, "", std::move(sets)};
  };
  EXPECT_EQ(s.Apply(move("other", {{"n1", "n4"}, {"n2", "n3"}}, "n1/2")).code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(s.Apply(move("id1", {{"n1", "n4", "n5"}, {"n2", "n3"}}, "n1/3")).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.Apply(move("id1", {{"n1", "n4"}}, "n1/4")).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.Find("orders")->moves, (std::vector<uint32_t>{0, 0}));
  ASSERT_TRUE(s.Apply(move("id1", {{"n1", "n4"}, {"n2", "n3"}}, "n1/5")).ok());
  EXPECT_EQ(s.Find("orders")->assignment,
            (std::vector<std::vector<std::string>>{{"n1", "n4"}, {"n2", "n3"}}));
  EXPECT_EQ(s.Find("orders")->moves, (std::vector<uint32_t>{1, 0}));
  // The codec carries the new kind.
  const MetaCommand c = move("id1", {{"n1", "n4"}, {"n2", "n3"}}, "n1/6");
  auto decoded = DecodeMetaCommand(EncodeMetaCommand(c));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, c);
}

}  // namespace
}  // namespace sprawl::meta
