#include "core/client/publish_fanout.h"

#include <gtest/gtest.h>

namespace sprawl::client {
namespace {

namespace pb = protocol::pb;

// A request for `partitions`, batch i's frame being "f<i>".
std::pair<std::string, std::vector<std::string>> RequestFor(
    const std::vector<uint32_t>& partitions) {
  pb::PublishRequest request;
  request.set_topic("t");
  request.set_acks(pb::ACK_ALL);
  std::vector<std::string> frames;
  for (uint32_t p : partitions) {
    request.add_batches()->set_partition(p);
    frames.push_back("f" + std::to_string(frames.size()));
  }
  return {request.SerializeAsString(), frames};
}

TEST(PublishFanoutTest, ARequestThatDoesNotMatchItsFramesIsLeftAsItIs) {
  auto [body, frames] = RequestFor({0, 1});
  frames.pop_back();
  EXPECT_FALSE(PublishFanout::Decode(body, frames).has_value());
  EXPECT_EQ(frames, std::vector<std::string>{"f0"});  // not taken
  std::vector<std::string> none;
  EXPECT_FALSE(PublishFanout::Decode("\xff\xff", none).has_value());
}

TEST(PublishFanoutTest, SubRequestsCarryTheirBatchesAndTheMergeKeepsTheRequestOrder) {
  auto [body, frames] = RequestFor({4, 7, 4, 2});
  auto fanout = PublishFanout::Decode(body, frames);
  ASSERT_TRUE(fanout.has_value());
  EXPECT_EQ(fanout->topic(), "t");
  ASSERT_EQ(fanout->size(), 4u);

  pb::PublishRequest sub;
  ASSERT_TRUE(sub.ParseFromString(fanout->Body({3, 1})));
  EXPECT_EQ(sub.topic(), "t");
  EXPECT_EQ(sub.acks(), pb::ACK_ALL);
  ASSERT_EQ(sub.batches_size(), 2);
  EXPECT_EQ(sub.batches(0).partition(), 2u);
  EXPECT_EQ(sub.batches(1).partition(), 7u);
  EXPECT_EQ(fanout->CopyFrames({3, 1}), (std::vector<std::string>{"f3", "f1"}));
  EXPECT_EQ(fanout->CopyFrames({3}), std::vector<std::string>{"f3"});  // copies: still there

  // Results arrive out of order from several nodes.
  for (size_t i : {2u, 0u, 3u}) {
    pb::PublishResult r;
    r.set_partition(fanout->partition(i));
    r.set_base_offset(100 + i);
    fanout->SetResult(i, r);
  }
  fanout->SetError(1, Status(ErrorCode::kNotLeader, "nobody leads it"));
  pb::PublishResponse merged;
  ASSERT_TRUE(merged.ParseFromString(fanout->MergedBody()));
  ASSERT_EQ(merged.results_size(), 4);
  EXPECT_EQ(merged.results(0).base_offset(), 100u);
  EXPECT_EQ(merged.results(1).partition(), 7u);
  EXPECT_EQ(merged.results(1).error().code(), static_cast<uint32_t>(ErrorCode::kNotLeader));
  EXPECT_TRUE(merged.results(1).error().retriable());
  EXPECT_EQ(merged.results(2).base_offset(), 102u);
  EXPECT_EQ(merged.results(3).partition(), 2u);
  EXPECT_EQ(merged.results(3).base_offset(), 103u);
}

TEST(PublishFanoutTest, ABatchWithoutAResultIsReportedAsAnInternalError) {
  auto [body, frames] = RequestFor({0});
  auto fanout = PublishFanout::Decode(body, frames);
  ASSERT_TRUE(fanout.has_value());
  pb::PublishResponse merged;
  ASSERT_TRUE(merged.ParseFromString(fanout->MergedBody()));
  ASSERT_EQ(merged.results_size(), 1);
  EXPECT_EQ(merged.results(0).error().code(), static_cast<uint32_t>(ErrorCode::kInternal));
}

}  // namespace
}  // namespace sprawl::client
