// The metadata group's commands and state machine: a deterministic outcome
// for every command, the codec's rejections.
#include "core/meta/meta_state.h"

#include <gtest/gtest.h>

#include "core/meta/meta_command.h"
#include "core/storage/producer_identity.h"

namespace sprawl::meta {
namespace {

int next_request = 0;
std::string RequestId() { return "n1/" + std::to_string(++next_request); }

MetaCommand Create(const std::string& topic, const std::string& id,
                   broker::TopicConfig config = {}) {
  return {MetaCommand::Kind::kCreate,        RequestId(), topic, id,
          broker::EncodeTopicConfig(config), {}};
}

MetaCommand Delete(const std::string& topic) {
  return {MetaCommand::Kind::kDelete, RequestId(), topic, "", "", {}};
}
MetaCommand Alter(const std::string& topic, const protocol::pb::TopicConfig& patch) {
  return {MetaCommand::Kind::kAlter, RequestId(), topic, "", patch.SerializeAsString(), {}};
}

TEST(MetaCommandTest, RoundTripsAndRefusesDamage) {
  const MetaCommand c = Create("orders", "abc");
  auto decoded = DecodeMetaCommand(EncodeMetaCommand(c));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, c);
  const std::string bytes = EncodeMetaCommand(c);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeMetaCommand(bytes.substr(0, n)).ok()) << n;
  }
  EXPECT_EQ(DecodeMetaCommand(bytes + "x").status().code(), ErrorCode::kInvalidArgument);
  std::string newer = bytes;
  newer[0] = kMetaCommandVersion + 1;
  EXPECT_EQ(DecodeMetaCommand(newer).status().code(), ErrorCode::kUnsupportedVersion);
  std::string kind = bytes;
  kind[1] = 9;
  EXPECT_EQ(DecodeMetaCommand(kind).status().code(), ErrorCode::kInvalidArgument);
}

TEST(MetaCommandTest, AnAssignmentRoundTripsAndAnUnplacedCommandStaysVersionOne) {
  MetaCommand placed = Create("orders", "abc");
  placed.assignment = {{"n1", "n2", "n3"}, {"n2", "n3", "n1"}};
  const std::string bytes = EncodeMetaCommand(placed);
  EXPECT_EQ(bytes[0], 2);
  auto decoded = DecodeMetaCommand(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(*decoded, placed);
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeMetaCommand(bytes.substr(0, n)).ok()) << n;
  }
  // A node of the previous version reads what an unplaced command writes.
  EXPECT_EQ(EncodeMetaCommand(Create("orders", "abc"))[0], 1);
}

TEST(MetaStateTest, APlacedTopicKeepsItsAssignmentAndGrowsItWithNewPartitions) {
  MetaState s;
  broker::TopicConfig two;
  two.partitions = 2;
  MetaCommand create = Create("orders", "id1", two);
  create.assignment = {{"n1", "n2"}, {"n2", "n1"}};
  ASSERT_TRUE(s.Apply(create).ok());
  EXPECT_EQ(s.Find("orders")->assignment, create.assignment);

  protocol::pb::TopicConfig grow;
  grow.set_partitions(3);
  // Growing a placed topic without placing the new partition changes nothing.
  EXPECT_EQ(s.Apply(Alter("orders", grow)).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.Find("orders")->config.partitions, 2u);
  MetaCommand alter = Alter("orders", grow);
  alter.assignment = {{"x"}, {"y"}, {"n3", "n1"}};
  ASSERT_TRUE(s.Apply(alter).ok());
  const std::vector<std::vector<std::string>> grown = {{"n1", "n2"}, {"n2", "n1"}, {"n3", "n1"}};
  EXPECT_EQ(s.Find("orders")->assignment, grown);
}

TEST(MetaStateTest, ANewReplicationFactorTakesTheReplicaSetsTheChangeNamesAndCountsMoves) {
  MetaState s;
  broker::TopicConfig config;
  config.partitions = 2;
  config.replication_factor = 2;
  MetaCommand create = Create("orders", "id1", config);
  create.assignment = {{"n1", "n2"}, {"n2", "n3"}};
  ASSERT_TRUE(s.Apply(create).ok());
  EXPECT_EQ(s.Find("orders")->moves, (std::vector<uint32_t>{0, 0}));

  protocol::pb::TopicConfig three;
  three.set_replication_factor(3);
  // Without the new replica sets, or with sets of the wrong size: refused.
  EXPECT_EQ(s.Apply(Alter("orders", three)).code(), ErrorCode::kInvalidArgument);
  MetaCommand wrong = Alter("orders", three);
  wrong.assignment = {{"n1", "n2", "n3"}, {"n2", "n3"}};
  EXPECT_EQ(s.Apply(wrong).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.Find("orders")->config.replication_factor, 2u);
  EXPECT_EQ(s.Find("orders")->assignment, create.assignment);

  MetaCommand raise = Alter("orders", three);
  raise.assignment = {{"n1", "n2", "n3"}, {"n2", "n3", "n1"}};
  ASSERT_TRUE(s.Apply(raise).ok());
  EXPECT_EQ(s.Find("orders")->config.replication_factor, 3u);
  EXPECT_EQ(s.Find("orders")->assignment, raise.assignment);
  EXPECT_EQ(s.Find("orders")->moves, (std::vector<uint32_t>{1, 1}));

  protocol::pb::TopicConfig two;
  two.set_replication_factor(2);
  MetaCommand lower = Alter("orders", two);
  lower.assignment = {{"n1", "n2"}, {"n2", "n3", "n1"}};  // the second is not resized
  EXPECT_EQ(s.Apply(lower).code(), ErrorCode::kInvalidArgument);
  MetaCommand lowered = Alter("orders", two);
  lowered.assignment = {{"n1", "n2"}, {"n2", "n3"}};
  ASSERT_TRUE(s.Apply(lowered).ok());
  EXPECT_EQ(s.Find("orders")->moves, (std::vector<uint32_t>{2, 2}));

  // Between 1 and more the factor is fixed: a partition with one replica
  // has no Raft group to carry the change.
  protocol::pb::TopicConfig one;
  one.set_replication_factor(1);
  MetaCommand to_one = Alter("orders", one);
  to_one.assignment = {{"n1"}, {"n2"}};
  Status refused = s.Apply(to_one);
  EXPECT_EQ(refused.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("fixed when the topic is created"), std::string::npos);
  EXPECT_EQ(s.Find("orders")->config.replication_factor, 2u);
}

TEST(MetaStateTest, ABadAssignmentIsRefusedAndChangesNothing) {
  MetaState s;
  broker::TopicConfig two;
  two.partitions = 2;
  MetaCommand short_one = Create("orders", "id1", two);
  short_one.assignment = {{"n1"}};
  EXPECT_EQ(s.Apply(short_one).code(), ErrorCode::kInvalidArgument);
  MetaCommand repeats = Create("orders", "id1", two);
  repeats.assignment = {{"n1", "n1"}, {"n2"}};
  EXPECT_EQ(s.Apply(repeats).code(), ErrorCode::kInvalidArgument);
  MetaCommand empty_set = Create("orders", "id1", two);
  empty_set.assignment = {{"n1"}, {}};
  EXPECT_EQ(s.Apply(empty_set).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.Find("orders"), nullptr);
}

TEST(MetaStateTest, CreateAlterDeleteAndTheirRefusals) {
  MetaState s;
  ASSERT_TRUE(s.Apply(Create("orders", "id1")).ok());
  EXPECT_EQ(s.Apply(Create("orders", "id2")).code(), ErrorCode::kAlreadyExists);
  EXPECT_EQ(s.Find("orders")->topic_id, "id1");

  protocol::pb::TopicConfig grow;
  grow.set_partitions(4);
  ASSERT_TRUE(s.Apply(Alter("orders", grow)).ok());
  EXPECT_EQ(s.Find("orders")->config.partitions, 4u);
  protocol::pb::TopicConfig shrink;
  shrink.set_partitions(2);
  EXPECT_EQ(s.Apply(Alter("orders", shrink)).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.Find("orders")->config.partitions, 4u);
  EXPECT_EQ(s.Apply(Alter("nope", grow)).code(), ErrorCode::kNotFound);

  ASSERT_TRUE(s.Apply(Delete("orders")).ok());
  EXPECT_EQ(s.Find("orders"), nullptr);
  EXPECT_EQ(s.Apply(Delete("orders")).code(), ErrorCode::kNotFound);
  // Created again: a new topic with its own id.
  ASSERT_TRUE(s.Apply(Create("orders", "id3")).ok());
  EXPECT_EQ(s.Find("orders")->topic_id, "id3");
}

TEST(MetaStateTest, DeadLetterTopicsMustExistAndCannotBeDeletedWhileNamed) {
  MetaState s;
  broker::TopicConfig config;
  config.dead_letter_topic = "dlq";
  EXPECT_EQ(s.Apply(Create("orders", "id1", config)).code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(s.Apply(Create("dlq", "id2")).ok());
  ASSERT_TRUE(s.Apply(Create("orders", "id1", config)).ok());
  EXPECT_EQ(s.Apply(Delete("dlq")).code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(s.Apply(Delete("orders")).ok());
  EXPECT_TRUE(s.Apply(Delete("dlq")).ok());
}

TEST(MetaStateTest, ABadNameOrConfigFromThePeerPortChangesNothing) {
  MetaState s;
  EXPECT_EQ(s.Apply(Create("bad/name", "id1")).code(), ErrorCode::kInvalidArgument);
  MetaCommand garbage = Create("orders", "id1");
  garbage.config = "\x01\xff\xff";
  EXPECT_EQ(s.Apply(garbage).code(), ErrorCode::kInvalidArgument);
  broker::TopicConfig too_many;
  too_many.replication_factor = broker::kMaxReplicationFactor + 1;
  EXPECT_EQ(s.Apply(Create("orders", "id1", too_many)).code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(s.topics().empty());
}

// A command sent again after a leader change may commit twice: the second
// changes nothing, even after the topic was deleted in between.
TEST(MetaStateTest, ARequestAppliesOnce) {
  MetaState s;
  const MetaCommand create = Create("orders", "id1");
  ASSERT_TRUE(s.Apply(create).ok());
  ASSERT_TRUE(s.Apply(Delete("orders")).ok());
  EXPECT_TRUE(s.Apply(create).ok());
  EXPECT_EQ(s.Find("orders"), nullptr);
}

// Two nodes applying the same commands agree on topics and outcomes.
TEST(MetaStateTest, TheSameCommandsGiveTheSameStateAndOutcomes) {
  std::vector<MetaCommand> log = {Create("a", "1"), Create("b", "2"), Create("a", "3"),
                                  Delete("a"),      Create("a", "4"), Delete("c")};
  MetaState x;
  MetaState y;
  for (const MetaCommand& c : log) EXPECT_EQ(x.Apply(c).code(), y.Apply(c).code());
  ASSERT_EQ(x.topics().size(), y.topics().size());
  EXPECT_EQ(x.Find("a")->topic_id, "4");
  EXPECT_EQ(y.Find("a")->topic_id, "4");
}

TEST(MetaStateTest, EachStartOfANamedProducerGetsTheNextEpochOnce) {
  MetaState state;
  MetaCommand first{MetaCommand::Kind::kInitProducer, RequestId(), "billing", "", "", {}};
  ASSERT_TRUE(state.Apply(first).ok());
  EXPECT_EQ(state.ProducerEpoch("billing"), 1);
  ASSERT_TRUE(state.Apply(first).ok()) << "a retry applied again";
  EXPECT_EQ(state.ProducerEpoch("billing"), 1) << "counts once";
  ASSERT_TRUE(
      state.Apply({MetaCommand::Kind::kInitProducer, RequestId(), "billing", "", "", {}}).ok());
  EXPECT_EQ(state.ProducerEpoch("billing"), 2);
  EXPECT_EQ(state.FamilyEpoch(storage::NamedProducerFamily("billing")), 2);
  EXPECT_EQ(state.ProducerEpoch("audit"), 0);

  const Status empty = state.Apply({MetaCommand::Kind::kInitProducer, RequestId(), "", "", "", {}});
  EXPECT_EQ(empty.code(), ErrorCode::kInvalidArgument);
  const Status long_name = state.Apply(
      {MetaCommand::Kind::kInitProducer, RequestId(), std::string(256, 'x'), "", "", {}});
  EXPECT_EQ(long_name.code(), ErrorCode::kInvalidArgument);

  const MetaCommand init{MetaCommand::Kind::kInitProducer, RequestId(), "billing", "", "", {}};
  auto decoded = DecodeMetaCommand(EncodeMetaCommand(init));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, init);
}

}  // namespace
}  // namespace sprawl::meta
