// Topics, publish with acks and idempotence, fetch and long polls, on a real
// store (memory and RocksDB) with the event loop played by the test.
#include "core/broker/broker.h"

#include <gtest/gtest.h>

#include "broker_fixture.h"

namespace sprawl::broker {
namespace {

using testing::Batch;
using testing::BrokerTest;

TEST_P(BrokerTest, TopicsAreCreatedDescribedAlteredAndDeleted) {
  CreateTopic("orders", 3);
  auto described = broker_->DescribeTopic([] {
    pb::DescribeTopicRequest r;
    r.set_name("orders");
    return r;
  }());
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(described->partitions_size(), 3);
  EXPECT_EQ(described->config().ack_timeout_ms(), 30'000u);

  pb::AlterTopicRequest alter;
  alter.set_name("orders");
  alter.mutable_config()->set_partitions(5);
  alter.mutable_config()->set_max_deliveries(4);
  auto altered = AlterTopicNow(alter);
  ASSERT_TRUE(altered.ok()) << altered.status().ToString();
  EXPECT_EQ(altered->partitions_size(), 5);
  EXPECT_EQ(altered->config().max_deliveries(), 4u);
  EXPECT_EQ(broker_->ListTopics().topics_size(), 1);

  pb::DeleteTopicRequest del;
  del.set_name("orders");
  ASSERT_TRUE(DeleteTopicNow(del).ok());
  EXPECT_EQ(broker_->ListTopics().topics_size(), 0);
  EXPECT_EQ(DeleteTopicNow(del).code(), ErrorCode::kNotFound);
}

TEST_P(BrokerTest, BadTopicRequestsAreClearErrorsAndChangeNothing) {
  CreateTopic("orders", 2);
  pb::CreateTopicRequest dup;
  dup.set_name("orders");
  EXPECT_EQ(CreateTopicNow(dup).status().code(), ErrorCode::kAlreadyExists);

  pb::CreateTopicRequest bad_name;
  bad_name.set_name("no spaces");
  EXPECT_EQ(CreateTopicNow(bad_name).status().code(), ErrorCode::kInvalidArgument);

  pb::CreateTopicRequest too_many;
  too_many.set_name("big");
  too_many.mutable_config()->set_partitions(5000);
  auto r = CreateTopicNow(too_many);
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("partitions"), std::string::npos);

  pb::CreateTopicRequest missing_dlq;
  missing_dlq.set_name("jobs");
  missing_dlq.mutable_config()->set_dead_letter_topic("jobs.dlq");
  EXPECT_EQ(CreateTopicNow(missing_dlq).status().code(), ErrorCode::kInvalidArgument);

  pb::AlterTopicRequest shrink;
  shrink.set_name("orders");
  shrink.mutable_config()->set_partitions(1);
  EXPECT_EQ(AlterTopicNow(shrink).status().code(), ErrorCode::kInvalidArgument);

  CreateTopic("jobs.dlq", 1);
  ASSERT_TRUE(CreateTopicNow(missing_dlq).ok());
  pb::DeleteTopicRequest del_dlq;
  del_dlq.set_name("jobs.dlq");
  EXPECT_EQ(DeleteTopicNow(del_dlq).code(), ErrorCode::kInvalidArgument);

  EXPECT_EQ(broker_->ListTopics().topics_size(), 3);
  EXPECT_EQ(broker_->topics().Find("orders").value()->config.partitions, 2u);
}

TEST_P(BrokerTest, AFetchOfManySmallBatchesStopsAtTheBatchesOneMessageCarries) {
  CreateTopic("orders", 1);
  const size_t count = protocol::kMaxBatchesPerMessage + 300;
  for (size_t i = 0; i < count; ++i) {
    auto published = Publish("orders", 0, Batch(1, "m" + std::to_string(i) + "-"));
    ASSERT_TRUE(published.ok() && !published->results(0).has_error());
  }
  // Far under the fetch's byte budget, but more batches than one reply may
  // carry: a client refuses a message of more frames.
  auto first = Fetch("orders", 0, 0);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->batches.size(), protocol::kMaxBatchesPerMessage);
  EXPECT_EQ(first->response.next_offset(), protocol::kMaxBatchesPerMessage);
  auto rest = Fetch("orders", 0, first->response.next_offset());
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->batches.size(), 300u);
  EXPECT_EQ(rest->response.next_offset(), count);
}

TEST_P(BrokerTest, AGroupPushOfManySmallBatchesIsSplitAtTheBatchesOneMessageCarries) {
  CreateTopic("orders", 1);
  const size_t count = protocol::kMaxBatchesPerMessage + 300;
  for (size_t i = 0; i < count; ++i) {
    auto published = Publish("orders", 0, Batch(1, "m" + std::to_string(i) + "-"));
    ASSERT_TRUE(published.ok() && !published->results(0).has_error());
  }
  size_t delivered = 0;
  size_t most_batches = 0;
  broker_->SetDeliverySink(
      [&](const std::string&, const pb::DeliverPush& push, const Batches& batches) {
        delivered += static_cast<size_t>(push.deliveries_size());
        most_batches = std::max(most_batches, batches.size());
      });
  pb::JoinGroupRequest join;
  join.set_topic("orders");
  join.set_group("all-at-once");
  join.set_start(pb::OFFSET_EARLIEST);
  join.set_max_in_flight(static_cast<uint32_t>(count));
  ASSERT_TRUE(JoinGroupNow(join, "conn-1").ok());
  loop_.RunUntil([&] { return delivered == count; });
  EXPECT_EQ(delivered, count);
  EXPECT_LE(most_batches, protocol::kMaxBatchesPerMessage);
}

TEST_P(BrokerTest, PublishedBatchesAreFetchedInOrderWithTheirOffsets) {
  CreateTopic("orders", 2);
  auto first = Publish("orders", 1, Batch(3, "a"));
  ASSERT_TRUE(first.ok());
  ASSERT_FALSE(first->results(0).has_error()) << first->results(0).error().message();
  EXPECT_EQ(first->results(0).base_offset(), 0u);
  EXPECT_EQ(first->results(0).last_offset(), 2u);
  auto second = Publish("orders", 1, Batch(2, "b"), pb::ACK_ALL);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->results(0).base_offset(), 3u);

  auto fetched = Fetch("orders", 1, 1);
  ASSERT_TRUE(fetched.ok()) << fetched.status().ToString();
  EXPECT_EQ(Values(*fetched, 1), (std::vector<std::string>{"a-1", "a-2", "b-0", "b-1"}));
  EXPECT_EQ(fetched->response.next_offset(), 5u);
  EXPECT_EQ(fetched->response.high_watermark(), 5u);

  auto empty = Fetch("orders", 0, 0);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->batches.empty());
}

TEST_P(BrokerTest, PublishErrorsAreReportedPerBatchOrPerRequest) {
  CreateTopic("orders", 1);
  auto missing = Publish("nope", 0, Batch(1, "x"));
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);

  auto bad_partition = Publish("orders", 4, Batch(1, "x"));
  ASSERT_TRUE(bad_partition.ok());
  EXPECT_EQ(bad_partition->results(0).error().code(), static_cast<uint32_t>(ErrorCode::kNotFound));

  std::string corrupt = Batch(2, "x");
  corrupt[corrupt.size() - 1] ^= 0x55;
  auto garbled = Publish("orders", 0, corrupt);
  ASSERT_TRUE(garbled.ok());
  EXPECT_EQ(garbled->results(0).error().code(), static_cast<uint32_t>(ErrorCode::kDataCorruption));

  pb::AlterTopicRequest small;
  small.set_name("orders");
  small.mutable_config()->set_max_message_bytes(8);
  ASSERT_TRUE(AlterTopicNow(small).ok());
  auto large = Publish("orders", 0, Batch(1, "a-value-longer-than-eight-bytes"));
  ASSERT_TRUE(large.ok());
  EXPECT_EQ(large->results(0).error().code(), static_cast<uint32_t>(ErrorCode::kMessageTooLarge));

  auto fetched = Fetch("orders", 0, 0);
  ASSERT_TRUE(fetched.ok());
  EXPECT_TRUE(fetched->batches.empty()) << "nothing was stored";
}

TEST_P(BrokerTest, IdempotentRetriesAreStoredOnceAndGapsRefused) {
  CreateTopic("orders", 1);
  const storage::ProducerStamp p0{42, 0};
  auto first = Publish("orders", 0, Batch(3, "a", p0));
  ASSERT_TRUE(first.ok());
  auto retry = Publish("orders", 0, Batch(3, "a", p0));
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->results(0).duplicate());
  EXPECT_EQ(retry->results(0).base_offset(), 0u);
  EXPECT_EQ(retry->results(0).last_offset(), 2u);

  auto gap = Publish("orders", 0, Batch(1, "c", {42, 7}));
  ASSERT_TRUE(gap.ok());
  EXPECT_EQ(gap->results(0).error().code(), static_cast<uint32_t>(ErrorCode::kOutOfOrderSequence));
  auto next = Publish("orders", 0, Batch(1, "b", {42, 3}));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->results(0).base_offset(), 3u);

  auto fetched = Fetch("orders", 0, 0);
  EXPECT_EQ(Values(*fetched, 0), (std::vector<std::string>{"a-0", "a-1", "a-2", "b-0"}));
}

TEST_P(BrokerTest, AckNoneRepliesAtOnceAndStoresTheBatch) {
  CreateTopic("orders", 1);
  auto reply = Publish("orders", 0, Batch(2, "n"), pb::ACK_NONE);
  ASSERT_TRUE(reply.ok());
  loop_.RunUntil(
      [&] { return broker_->topics().Partition("orders", 0).value()->CommitIndex() == 2; });
  auto fetched = Fetch("orders", 0, 0);
  EXPECT_EQ(Values(*fetched, 0).size(), 2u);
}

TEST_P(BrokerTest, LongPollWaitsForNewRecordsOrItsDeadline) {
  CreateTopic("orders", 1);
  pb::FetchRequest request;
  request.set_topic("orders");
  request.set_offset(0);
  request.set_max_wait_ms(5000);
  std::optional<Result<FetchReply>> woken;
  broker_->Fetch(request, [&](Result<FetchReply> r) { woken.emplace(std::move(r)); });
  loop_.RunReady();
  EXPECT_FALSE(woken.has_value());
  ASSERT_TRUE(Publish("orders", 0, Batch(1, "late")).ok());
  loop_.RunUntil([&] { return woken.has_value(); });
  ASSERT_TRUE(woken->ok());
  EXPECT_EQ(Values(**woken, 0), std::vector<std::string>{"late-0"});

  request.set_offset(1);
  std::optional<Result<FetchReply>> timed_out;
  broker_->Fetch(request, [&](Result<FetchReply> r) { timed_out.emplace(std::move(r)); });
  clock_.Advance(std::chrono::milliseconds(4999));
  broker_->Tick();
  EXPECT_FALSE(timed_out.has_value());
  EXPECT_EQ(broker_->NextDeadlineNanos(), clock_.MonotonicNanos() + 1'000'000);
  clock_.Advance(std::chrono::milliseconds(1));
  broker_->Tick();
  ASSERT_TRUE(timed_out.has_value());
  ASSERT_TRUE(timed_out->ok());
  EXPECT_TRUE((*timed_out)->batches.empty());
}

TEST_P(BrokerTest, OffsetsOutOfRangeAndListOffsets) {
  CreateTopic("orders", 1);
  ASSERT_TRUE(Publish("orders", 0, Batch(4, "a", {}, 1000)).ok());
  ASSERT_TRUE(Publish("orders", 0, Batch(4, "b", {}, 2000)).ok());
  EXPECT_EQ(Fetch("orders", 0, 9).status().code(), ErrorCode::kOffsetOutOfRange);
  EXPECT_EQ(Fetch("orders", 3, 0).status().code(), ErrorCode::kNotFound);

  pb::ListOffsetsRequest list;
  list.set_topic("orders");
  list.set_spec(pb::OFFSET_LATEST);
  EXPECT_EQ(broker_->ListOffsets(list)->offset(), 8u);
  list.set_spec(pb::OFFSET_EARLIEST);
  EXPECT_EQ(broker_->ListOffsets(list)->offset(), 0u);
  list.set_spec(pb::OFFSET_TIMESTAMP);
  list.set_timestamp_ms(1500);
  EXPECT_EQ(broker_->ListOffsets(list)->offset(), 4u);
  list.set_spec(pb::OFFSET_EXACT);
  list.set_offset(99);
  EXPECT_EQ(broker_->ListOffsets(list).status().code(), ErrorCode::kOffsetOutOfRange);
}

TEST_P(BrokerTest, AFullNodeAnswersRetryAfterWithAHint) {
  if (!disk()) GTEST_SKIP() << "memory appends complete at once";
  BrokerOptions options;
  options.max_pending_publish_bytes = 1;  // anything in progress fills the node
  Open(options);
  CreateTopic("orders", 1);
  pb::PublishRequest request;
  request.set_topic("orders");
  request.add_batches()->set_partition(0);
  std::optional<Result<pb::PublishResponse>> first;
  std::vector<std::string> one;
  one.push_back(Batch(1, "a"));
  broker_->Publish(request, std::move(one),
                   [&](Result<pb::PublishResponse> r) { first.emplace(std::move(r)); });
  // The first append is still in progress: nothing has run on the loop yet.
  auto refused = [&] {
    std::optional<Result<pb::PublishResponse>> r;
    std::vector<std::string> two;
    two.push_back(Batch(1, "b"));
    broker_->Publish(request, std::move(two),
                     [&](Result<pb::PublishResponse> x) { r.emplace(std::move(x)); });
    return std::move(*r);
  }();
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->results(0).error().code(), static_cast<uint32_t>(ErrorCode::kRetryAfter));
  EXPECT_TRUE(refused->results(0).error().retriable());
  EXPECT_GE(refused->results(0).error().retry_after_ms(), 5u);
  loop_.RunUntil([&] { return first.has_value(); });
  EXPECT_FALSE((*first)->results(0).has_error());
  // Once it completed, the node takes publishes again.
  auto later = Publish("orders", 0, Batch(1, "c"));
  ASSERT_TRUE(later.ok());
  EXPECT_FALSE(later->results(0).has_error());
}

TEST_P(BrokerTest, TopicsAndProducerStateSurviveARestart) {
  if (!disk()) GTEST_SKIP() << "memory mode keeps nothing";
  CreateTopic("orders", 2);
  ASSERT_TRUE(Publish("orders", 1, Batch(2, "a", {7, 0})).ok());
  Open();
  EXPECT_EQ(broker_->ListTopics().topics_size(), 1);
  auto retry = Publish("orders", 1, Batch(2, "a", {7, 0}));
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->results(0).duplicate());
  EXPECT_EQ(retry->results(0).last_offset(), 1u);
  auto fetched = Fetch("orders", 1, 0);
  EXPECT_EQ(Values(*fetched, 0), (std::vector<std::string>{"a-0", "a-1"}));
}

INSTANTIATE_TEST_SUITE_P(BothModes, BrokerTest, testing::BothStorageModes(),
                         testing::StorageModeName);

}  // namespace
}  // namespace sprawl::broker
