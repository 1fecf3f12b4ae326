#include "core/broker/topic_config.h"

#include <gtest/gtest.h>

namespace sprawl::broker {
namespace {

namespace pb = protocol::pb;

// A TopicConfig carrying field `number` (unknown to this build) as a varint,
// as a newer client would send it (numbers up to 15: a one-byte tag).
pb::TopicConfig WithUnknownField(int number) {
  pb::TopicConfig known;
  known.set_partitions(2);
  std::string bytes = known.SerializeAsString();
  bytes.push_back(static_cast<char>(number << 3));  // wire type 0 (varint)
  bytes.push_back(5);
  pb::TopicConfig parsed;
  EXPECT_TRUE(parsed.ParseFromString(bytes));
  return parsed;
}

TEST(TopicConfigTest, CreateRefusesAnUnknownFieldNamingItsNumber) {
  auto config = ConfigForCreate("orders", WithUnknownField(15));
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("field number 15"), std::string::npos)
      << config.status().message();
}

TEST(TopicConfigTest, AlterRefusesAnUnknownFieldAndKeepsTheCurrentConfig) {
  TopicConfig current;
  auto config = ConfigForAlter("orders", current, WithUnknownField(12));
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("field number 12"), std::string::npos);
}

TEST(TopicConfigTest, OutOfRangePartitionsAreRefusedNamingTheField) {
  pb::TopicConfig asked;
  asked.set_partitions(0);
  auto config = ConfigForCreate("orders", asked);
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(config.status().message().find("partitions"), std::string::npos);
  asked.set_partitions(kMaxPartitions + 1);
  EXPECT_FALSE(ConfigForCreate("orders", asked).ok());
  asked.set_partitions(3);
  auto good = ConfigForCreate("orders", asked);
  ASSERT_TRUE(good.ok()) << good.status().message();
  EXPECT_EQ(good->partitions, 3u);
}

TEST(TopicConfigTest, ReplicationFactorIsValidatedAndStored) {
  pb::TopicConfig asked;
  auto defaulted = ConfigForCreate("orders", asked);
  ASSERT_TRUE(defaulted.ok());
  EXPECT_EQ(defaulted->replication_factor, 1u);
  for (uint32_t bad : {0u, kMaxReplicationFactor + 1}) {
    asked.set_replication_factor(bad);
    auto config = ConfigForCreate("orders", asked);
    ASSERT_FALSE(config.ok()) << bad;
    EXPECT_NE(config.status().message().find("replication_factor"), std::string::npos);
  }
  asked.set_replication_factor(3);
  auto good = ConfigForCreate("orders", asked);
  ASSERT_TRUE(good.ok());
  auto stored = DecodeTopicConfig("orders", EncodeTopicConfig(*good));
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->replication_factor, 3u);
}

}  // namespace
}  // namespace sprawl::broker
