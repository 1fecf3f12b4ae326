#include "core/protocol/json.h"

#include <gtest/gtest.h>

namespace sprawl::protocol {
namespace {

using nlohmann::json;

void ExpectRefused(const json& config, const std::string& field) {
  auto parsed = TopicConfigFromJson(config);
  ASSERT_FALSE(parsed.ok()) << config.dump();
  EXPECT_EQ(parsed.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find("'" + field + "'"), std::string::npos)
      << parsed.status().message();
}

TEST(TopicConfigFromJsonTest, RefusesNegativeUnknownAndMistypedFieldsNamingThem) {
  ExpectRefused({{"partitions", -1}}, "partitions");
  ExpectRefused({{"partitions", "2"}}, "partitions");
  ExpectRefused({{"retention_ms", -5}}, "retention_ms");
  ExpectRefused({{"dead_letter_topic", 3}}, "dead_letter_topic");
  ExpectRefused({{"partition", 2}}, "partition");
}

// A value larger than the field's type used to be truncated: 2^32 + 1
// partitions became 1.
TEST(TopicConfigFromJsonTest, RefusesValuesTooLargeForTheFieldInsteadOfTruncating) {
  ExpectRefused({{"partitions", 4294967297ull}}, "partitions");
  ExpectRefused({{"ack_timeout_ms", 4294967296ull}}, "ack_timeout_ms");
  ExpectRefused({{"message_ttl_ms", 9223372036854775808ull}}, "message_ttl_ms");
}

TEST(TopicConfigFromJsonTest, KeepsTheFieldsPresent) {
  auto parsed = TopicConfigFromJson({{"partitions", 4},
                                     {"retention_bytes", 18446744073709551615ull},
                                     {"dead_letter_topic", "d"}});
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->partitions(), 4u);
  EXPECT_EQ(parsed->retention_bytes(), UINT64_MAX);
  EXPECT_EQ(parsed->dead_letter_topic(), "d");
  EXPECT_FALSE(parsed->has_retention_ms());
}

}  // namespace
}  // namespace sprawl::protocol
