// Dead letters travel the publish pipeline: committed before the source
// message settles, and held back by the same bound on bytes in flight.
#include <gtest/gtest.h>

#include "broker_fixture.h"

namespace sprawl::broker {
namespace {

using testing::Batch;

class DeadLetterTest : public testing::BrokerTest {};

TEST_P(DeadLetterTest, ALetterRefusedForCapacityIsPublishedOnceTheNodeHasRoom) {
  BrokerOptions options;
  options.max_pending_publish_bytes = 1;  // anything in flight fills the node
  Open(options);
  CreateTopic("jobs.dlq", 1);
  pb::CreateTopicRequest jobs;
  jobs.set_name("jobs");
  jobs.mutable_config()->set_max_deliveries(1);
  jobs.mutable_config()->set_ack_timeout_ms(1000);
  jobs.mutable_config()->set_dead_letter_topic("jobs.dlq");
  ASSERT_TRUE(CreateTopicNow(jobs).ok());
  CreateTopic("other", 1);
  ASSERT_TRUE(Publish("jobs", 0, Batch(1, "job")).ok());

  int pushes = 0;
  broker_->SetDeliverySink([&](const std::string&, pb::DeliverPush, Batches) { ++pushes; });
  pb::JoinGroupRequest join;
  join.set_topic("jobs");
  join.set_group("workers");
  join.set_start(pb::OFFSET_EARLIEST);
  auto joined = JoinGroupNow(join, "conn-1");
  ASSERT_TRUE(joined.ok()) << joined.status().ToString();
  loop_.RunUntil([&] { return pushes == 1; });

  // Another publish is in flight when the delivery runs out of time.
  pb::PublishRequest other;
  other.set_topic("other");
  other.add_batches()->set_partition(0);
  std::vector<std::string> batches;
  batches.push_back(Batch(1, "o"));
  std::optional<Result<pb::PublishResponse>> in_flight;
  broker_->Publish(other, std::move(batches),
                   [&](Result<pb::PublishResponse> r) { in_flight.emplace(std::move(r)); });
  clock_.Advance(std::chrono::milliseconds(1500));
  broker_->Tick();
  storage::PartitionLog* dlq = broker_->topics().Partition("jobs.dlq", 0).value();
  EXPECT_EQ(dlq->NextOffset(), 0u) << "the letter was appended past the bound on bytes in flight";
  EXPECT_LT(broker_->NextDeadlineNanos(), clock_.MonotonicNanos() + 1'000'000'000)
      << "a deferred letter is tried again soon";

  loop_.RunUntil([&] { return in_flight.has_value(); });
  clock_.Advance(std::chrono::milliseconds(100));
  broker_->Tick();
  loop_.RunUntil([&] { return dlq->CommitIndex() == 1; });
  auto fetched = Fetch("jobs.dlq", 0, 0);
  ASSERT_TRUE(fetched.ok());
  EXPECT_EQ(Values(*fetched, 0), std::vector<std::string>{"job-0"});
  // The source message is settled: nothing is left in flight for the group.
  loop_.RunReady();
  pb::DescribeGroupRequest describe;
  describe.set_topic("jobs");
  describe.set_group("workers");
  auto group = broker_->DescribeGroup(describe);
  ASSERT_TRUE(group.ok());
  EXPECT_EQ(group->partitions(0).dead_lettered(), 1u);
  EXPECT_EQ(group->partitions(0).in_flight(), 0u);
}

INSTANTIATE_TEST_SUITE_P(BothModes, DeadLetterTest, testing::BothStorageModes(),
                         testing::StorageModeName);

}  // namespace
}  // namespace sprawl::broker
