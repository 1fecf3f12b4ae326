// Topic administration runs its disk work on the broker's admin worker: the
// event loop serves other requests meanwhile, operations on one topic apply
// in order, and conflicting ones are refused clearly.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "broker_fixture.h"

namespace sprawl::broker {
namespace {

using testing::Batch;

class TopicAdminTest : public testing::BrokerTest {
 protected:
  // Holds the admin worker until the returned promise is set: administration
  // queued meanwhile stays in flight.
  std::promise<void> HoldAdminWorker() {
    std::promise<void> release;
    auto gate = release.get_future().share();
    auto held = std::make_shared<std::atomic<bool>>(false);
    broker_->RunOnAdminWorkerForTesting([gate, held] {
      held->store(true);
      gate.wait();
    });
    while (!held->load()) std::this_thread::yield();
    return release;
  }

  static pb::CreateTopicRequest Create(const std::string& name, uint32_t partitions = 1,
                                       const std::string& dead_letter_topic = "") {
    pb::CreateTopicRequest request;
    request.set_name(name);
    request.mutable_config()->set_partitions(partitions);
    if (!dead_letter_topic.empty()) {
      request.mutable_config()->set_dead_letter_topic(dead_letter_topic);
    }
    return request;
  }

  static pb::DeleteTopicRequest Delete(const std::string& name) {
    pb::DeleteTopicRequest request;
    request.set_name(name);
    return request;
  }

  Status DescribeStatus(const std::string& name) const {
    pb::DescribeTopicRequest request;
    request.set_name(name);
    return broker_->DescribeTopic(request).status();
  }
};

TEST_P(TopicAdminTest, TheLoopServesOtherTopicsWhileATopicIsBeingCreated) {
  CreateTopic("orders", 1);
  std::promise<void> release = HoldAdminWorker();

  std::optional<Result<pb::TopicDescription>> created;
  broker_->CreateTopic(Create("invoices", 2),
                       [&](Result<pb::TopicDescription> r) { created.emplace(std::move(r)); });
  // The loop goes on: a publish and a fetch on another topic are answered
  // while the creation's disk work cannot run.
  auto published = Publish("orders", 0, Batch(3, "o"));
  ASSERT_TRUE(published.ok()) << published.status().ToString();
  EXPECT_FALSE(published->results(0).has_error());
  auto fetched = Fetch("orders", 0, 0);
  ASSERT_TRUE(fetched.ok()) << fetched.status().ToString();
  EXPECT_EQ(Values(*fetched, 0).size(), 3u);
  loop_.RunReady();
  EXPECT_FALSE(created.has_value());
  EXPECT_EQ(DescribeStatus("invoices").code(), ErrorCode::kNotFound);

  release.set_value();
  loop_.RunUntil([&] { return created.has_value(); });
  ASSERT_TRUE(created->ok()) << created->status().ToString();
  EXPECT_EQ(created->value().partitions_size(), 2);
  EXPECT_TRUE(DescribeStatus("invoices").ok());
  auto first = Publish("invoices", 1, Batch(1, "i"));
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->results(0).has_error());
}

TEST_P(TopicAdminTest, ConflictingOperationsInFlightAreRefusedAsRetriable) {
  CreateTopic("jobs.dlq", 1);
  std::promise<void> release = HoldAdminWorker();

  std::optional<Result<pb::TopicDescription>> created;
  broker_->CreateTopic(Create("jobs", 1, "jobs.dlq"),
                       [&](Result<pb::TopicDescription> r) { created.emplace(std::move(r)); });
  // Same name again, a delete of it, or a delete of the dead letter topic it
  // names: RETRY_AFTER (retriable), answered at once, nothing changes.
  std::optional<Result<pb::TopicDescription>> again;
  broker_->CreateTopic(Create("jobs", 3),
                       [&](Result<pb::TopicDescription> r) { again.emplace(std::move(r)); });
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->status().code(), ErrorCode::kRetryAfter);
  EXPECT_TRUE(again->status().retriable());
  EXPECT_NE(again->status().message().find("being created"), std::string::npos);
  std::optional<Status> deleted;
  broker_->DeleteTopic(Delete("jobs"), [&](Status s) { deleted.emplace(std::move(s)); });
  ASSERT_TRUE(deleted.has_value());
  EXPECT_EQ(deleted->code(), ErrorCode::kRetryAfter);
  std::optional<Status> dlq_deleted;
  broker_->DeleteTopic(Delete("jobs.dlq"), [&](Status s) { dlq_deleted.emplace(std::move(s)); });
  ASSERT_TRUE(dlq_deleted.has_value());
  EXPECT_EQ(dlq_deleted->code(), ErrorCode::kRetryAfter);

  release.set_value();
  loop_.RunUntil([&] { return created.has_value(); });
  ASSERT_TRUE(created->ok()) << created->status().ToString();
  EXPECT_EQ(created->value().partitions_size(), 1) << "the refused create changed nothing";
  EXPECT_TRUE(DescribeStatus("jobs.dlq").ok());
}

TEST_P(TopicAdminTest, ATopicBeingDeletedServesNothingAndIsCreatedAfreshOnceGone) {
  CreateTopic("orders", 1);
  ASSERT_TRUE(Publish("orders", 0, Batch(2, "old")).ok());
  std::promise<void> release = HoldAdminWorker();

  std::optional<Status> deleted;
  broker_->DeleteTopic(Delete("orders"), [&](Status s) { deleted.emplace(std::move(s)); });
  auto refused = Publish("orders", 0, Batch(1, "late"));
  EXPECT_EQ(refused.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(Fetch("orders", 0, 0).status().code(), ErrorCode::kNotFound);
  pb::JoinGroupRequest join;
  join.set_topic("orders");
  join.set_group("workers");
  EXPECT_EQ(JoinGroupNow(join, "conn-1").status().code(), ErrorCode::kNotFound);
  std::optional<Result<pb::TopicDescription>> early;
  broker_->CreateTopic(Create("orders"),
                       [&](Result<pb::TopicDescription> r) { early.emplace(std::move(r)); });
  ASSERT_TRUE(early.has_value());
  EXPECT_EQ(early->status().code(), ErrorCode::kRetryAfter);
  EXPECT_FALSE(deleted.has_value());

  release.set_value();
  loop_.RunUntil([&] { return deleted.has_value(); });
  ASSERT_TRUE(deleted->ok()) << deleted->ToString();
  EXPECT_EQ(DescribeStatus("orders").code(), ErrorCode::kNotFound);
  // Created again after the deletion applied: empty, offsets from zero.
  CreateTopic("orders", 1);
  auto fetched = Fetch("orders", 0, 0);
  ASSERT_TRUE(fetched.ok());
  EXPECT_TRUE(fetched->batches.empty());
  auto fresh = Publish("orders", 0, Batch(1, "new"));
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->results(0).base_offset(), 0u);
}

TEST_P(TopicAdminTest, ABrokerClosedWithAdministrationInFlightFinishesItsDiskWork) {
  std::optional<Result<pb::TopicDescription>> created;
  broker_->CreateTopic(Create("orders", 2),
                       [&](Result<pb::TopicDescription> r) { created.emplace(std::move(r)); });
  broker_.reset();   // joins the admin worker; its completion is left queued
  loop_.RunReady();  // the completion sees the broker gone and does nothing
  EXPECT_FALSE(created.has_value());
  if (!disk()) return;
  Open();
  pb::DescribeTopicRequest describe;
  describe.set_name("orders");
  auto d = broker_->DescribeTopic(describe);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->partitions_size(), 2);
}

INSTANTIATE_TEST_SUITE_P(BothModes, TopicAdminTest, testing::BothStorageModes(),
                         testing::StorageModeName);

}  // namespace
}  // namespace sprawl::broker
