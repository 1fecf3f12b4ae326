// Deleting a topic while publishes, consumers and retention still work on it.
// Run under ASan and TSan too: a log freed under in-flight work shows there.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "broker_fixture.h"

namespace sprawl::broker {
namespace {

using testing::Batch;

class TopicDeletionTest : public testing::BrokerTest {
 protected:
  std::shared_ptr<std::optional<Result<pb::PublishResponse>>> StartPublish(
      const std::string& topic, std::string batch, pb::AckLevel acks = pb::ACK_LEADER) {
    pb::PublishRequest request;
    request.set_topic(topic);
    request.set_acks(acks);
    request.add_batches()->set_partition(0);
    std::vector<std::string> batches;
    batches.push_back(std::move(batch));
    auto slot = std::make_shared<std::optional<Result<pb::PublishResponse>>>();
    broker_->Publish(request, std::move(batches),
                     [slot](Result<pb::PublishResponse> r) { slot->emplace(std::move(r)); });
    return slot;
  }

  Status Delete(const std::string& topic) {
    pb::DeleteTopicRequest request;
    request.set_name(topic);
    return DeleteTopicNow(request);
  }
};

TEST_P(TopicDeletionTest, APublishInFlightWhenItsTopicIsDeletedFailsAndTouchesNothing) {
  CreateTopic("orders", 1);
  auto acked = StartPublish("orders", Batch(2, "a", {9, 0}));
  auto unacked = StartPublish("orders", Batch(1, "b"), pb::ACK_NONE);
  ASSERT_TRUE(unacked->has_value()) << "ACK_NONE replies at once";
  ASSERT_TRUE(Delete("orders").ok());
  // A new topic of the same name must not see the old topic's appends complete.
  CreateTopic("orders", 1);
  loop_.RunUntil([&] { return acked->has_value() && !broker_->PublishesInProgress(); });
  ASSERT_TRUE(acked->value().ok());
  const pb::PublishResult& r = acked->value()->results(0);
  ASSERT_TRUE(r.has_error()) << "acknowledged a batch of a deleted topic";
  EXPECT_EQ(r.error().code(), static_cast<uint32_t>(ErrorCode::kNotFound));
  EXPECT_EQ(broker_->topics().Partition("orders", 0).value()->CommitIndex(), 0u);
  auto fetched = Fetch("orders", 0, 0);
  ASSERT_TRUE(fetched.ok());
  EXPECT_TRUE(fetched->batches.empty());
  // The producer starts afresh on the new topic.
  auto again = Publish("orders", 0, Batch(2, "a", {9, 0}));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->results(0).has_error());
  EXPECT_FALSE(again->results(0).duplicate());
  EXPECT_EQ(again->results(0).base_offset(), 0u);
}

TEST_P(TopicDeletionTest, ConsumersOfADeletedTopicAreToldAndTheBrokerGoesOn) {
  CreateTopic("orders", 1);
  ASSERT_TRUE(Publish("orders", 0, Batch(3, "a")).ok());
  pb::JoinGroupRequest join;
  join.set_topic("orders");
  join.set_group("workers");
  join.set_start(pb::OFFSET_EARLIEST);
  int pushes = 0;
  broker_->SetDeliverySink([&](const std::string&, pb::DeliverPush, Batches) { ++pushes; });
  auto joined = JoinGroupNow(join, "conn-1");
  ASSERT_TRUE(joined.ok()) << joined.status().ToString();
  loop_.RunUntil([&] { return pushes > 0; });
  pb::FetchRequest parked;
  parked.set_topic("orders");
  parked.set_offset(3);
  parked.set_max_wait_ms(5000);
  std::optional<Result<FetchReply>> woken;
  broker_->Fetch(parked, [&](Result<FetchReply> r) { woken.emplace(std::move(r)); });
  EXPECT_FALSE(woken.has_value());

  ASSERT_TRUE(Delete("orders").ok());
  ASSERT_TRUE(woken.has_value());
  EXPECT_EQ(woken->status().code(), ErrorCode::kNotFound);
  pb::SettleRequest settle;
  settle.set_topic("orders");
  settle.set_group("workers");
  settle.set_member_id(joined->member_id());
  settle.add_acks()->set_offset(0);
  EXPECT_EQ(broker_->Settle(settle).status().code(), ErrorCode::kNotFound);
  clock_.Advance(std::chrono::seconds(60));  // ack deadlines and sessions pass
  broker_->Tick();
  loop_.RunReady();
  EXPECT_EQ(Fetch("orders", 0, 0).status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(broker_->ListGroups({}).groups_size(), 0);
}

TEST_P(TopicDeletionTest, TopicsDeletedDuringRetentionPassesAreSafe) {
  std::atomic<bool> stop{false};
  std::atomic<int> passes{0};
  std::thread retention([&] {
    while (!stop.load()) {
      auto outcome = store_->ApplyRetention();
      EXPECT_TRUE(outcome.ok()) << outcome.status().ToString();
      ++passes;
    }
  });
  for (int round = 0; round < 30; ++round) {
    pb::CreateTopicRequest create;
    create.set_name("short-lived");
    create.mutable_config()->set_retention_ms(1);
    ASSERT_TRUE(CreateTopicNow(create).ok());
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(Publish("short-lived", 0, Batch(2, "x")).ok());
    clock_.Advance(std::chrono::milliseconds(10));
    const int seen = passes.load();
    while (passes.load() < seen + 2) std::this_thread::yield();  // a whole pass saw it
    ASSERT_TRUE(Delete("short-lived").ok());
  }
  stop = true;
  retention.join();
  EXPECT_EQ(store_->Partitions().size(), 0u);
}

INSTANTIATE_TEST_SUITE_P(BothModes, TopicDeletionTest, testing::BothStorageModes(),
                         testing::StorageModeName);

}  // namespace
}  // namespace sprawl::broker
