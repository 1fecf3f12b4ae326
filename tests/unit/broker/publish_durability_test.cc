// What an idempotent producer's sequence means when a write fails or is still
// in progress, and what is committed after a restart.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <filesystem>

#include "broker_fixture.h"

namespace sprawl::broker {
namespace {

using testing::Batch;

class PublishDurabilityTest : public testing::BrokerTest {
 protected:
  // Starts a publish of one batch; the reply lands in the returned slot.
  std::shared_ptr<std::optional<Result<pb::PublishResponse>>> StartPublish(
      const std::string& topic, uint32_t partition, std::string batch,
      pb::AckLevel acks = pb::ACK_LEADER) {
    pb::PublishRequest request;
    request.set_topic(topic);
    request.set_acks(acks);
    request.add_batches()->set_partition(partition);
    std::vector<std::string> batches;
    batches.push_back(std::move(batch));
    auto slot = std::make_shared<std::optional<Result<pb::PublishResponse>>>();
    broker_->Publish(request, std::move(batches),
                     [slot](Result<pb::PublishResponse> r) { slot->emplace(std::move(r)); });
    return slot;
  }
};

TEST_P(PublishDurabilityTest, ARetryOfABatchStillBeingWrittenWaitsForItsOutcome) {
  CreateTopic("orders", 1);
  const storage::ProducerStamp p0{42, 0};
  auto first = StartPublish("orders", 0, Batch(3, "a", p0));
  // The client timed out and resends before the first append completed.
  auto retry = StartPublish("orders", 0, Batch(3, "a", p0));
  EXPECT_FALSE(first->has_value());
  EXPECT_FALSE(retry->has_value()) << "a duplicate was acknowledged before the original was stored";
  loop_.RunUntil([&] { return first->has_value() && retry->has_value(); });
  ASSERT_TRUE(first->value().ok());
  ASSERT_FALSE(first->value()->results(0).has_error());
  ASSERT_TRUE(retry->value().ok());
  const pb::PublishResult& r = retry->value()->results(0);
  ASSERT_FALSE(r.has_error()) << r.error().message();
  EXPECT_TRUE(r.duplicate());
  EXPECT_EQ(r.base_offset(), 0u);
  EXPECT_EQ(r.last_offset(), 2u);
  auto fetched = Fetch("orders", 0, 0);
  ASSERT_TRUE(fetched.ok());
  EXPECT_EQ(Values(*fetched, 0), (std::vector<std::string>{"a-0", "a-1", "a-2"}));
}

// Makes every write of this process past `bytes` into a file fail with EFBIG
// (a full disk as RocksDB sees it) until destroyed.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    old_handler_ = signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old_);
    rlimit limit = old_;
    limit.rlim_cur = bytes;
    setrlimit(RLIMIT_FSIZE, &limit);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old_);
    signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit old_{};
  sighandler_t old_handler_;
};

// The size of the largest file under `dir`.
uintmax_t LargestFile(const std::string& dir) {
  uintmax_t largest = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) largest = std::max(largest, entry.file_size());
  }
  return largest;
}

TEST_P(PublishDurabilityTest, AFailedWriteLeavesNoTraceAndItsRetryIsStoredForReal) {
  if (!disk()) GTEST_SKIP() << "memory appends cannot fail to write";
  // Every write syncs: no timer thread syncs the log while a write fails.
  storage::FsyncPolicy always;
  always.kind = storage::FsyncPolicy::Kind::kAlways;
  Open({}, always);
  CreateTopic("orders", 1);
  auto stored = Publish("orders", 0, Batch(1, "a", {42, 0}));
  ASSERT_TRUE(stored.ok());
  ASSERT_FALSE(stored->results(0).has_error());
  const std::string big(256 << 10, 'x');
  {
    FileSizeLimit full(LargestFile(dir_.Sub("data")) + (16 << 10));
    auto failed = Publish("orders", 0, Batch(1, big, {42, 1}));
    ASSERT_TRUE(failed.ok());
    ASSERT_TRUE(failed->results(0).has_error()) << "a write past the file size limit succeeded";
    // The client retries the same sequence: it must not be told its batch is stored.
    auto retry = Publish("orders", 0, Batch(1, big, {42, 1}));
    ASSERT_TRUE(retry.ok());
    EXPECT_FALSE(retry->results(0).duplicate()) << "acknowledged a batch that was never stored";
    EXPECT_TRUE(retry->results(0).has_error());
  }
  // The store is reopened once the disk has room again; the retry is stored once.
  Open({}, always);
  auto retry = Publish("orders", 0, Batch(1, big, {42, 1}));
  ASSERT_TRUE(retry.ok());
  ASSERT_FALSE(retry->results(0).has_error()) << retry->results(0).error().message();
  EXPECT_FALSE(retry->results(0).duplicate());
  EXPECT_EQ(retry->results(0).base_offset(), 1u);
  auto fetched = Fetch("orders", 0, 0);
  ASSERT_TRUE(fetched.ok());
  EXPECT_EQ(Values(*fetched, 0), (std::vector<std::string>{"a-0", big + "-0"}));
}

TEST_P(PublishDurabilityTest, RecordsRecoveredAfterACrashAreCommitted) {
  if (!disk()) GTEST_SKIP() << "memory mode keeps nothing";
  CreateTopic("orders", 1);
  // A batch written to the log whose commit index update was lost in a crash.
  auto log = store_->GetPartition({"orders", 0});
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->Append(Batch(2, "a", {7, 0}), Broker::kSingleNodeTerm).ok());
  ASSERT_EQ((*log)->CommitIndex(), 0u);
  Open();
  auto fetched = Fetch("orders", 0, 0);
  ASSERT_TRUE(fetched.ok()) << fetched.status().ToString();
  EXPECT_EQ(fetched->response.high_watermark(), 2u);
  EXPECT_EQ(Values(*fetched, 0), (std::vector<std::string>{"a-0", "a-1"}));
  pb::ListOffsetsRequest latest;
  latest.set_topic("orders");
  latest.set_spec(pb::OFFSET_LATEST);
  EXPECT_EQ(broker_->ListOffsets(latest)->offset(), 2u);
  // A group sees the recovered records as backlog.
  pb::JoinGroupRequest join;
  join.set_topic("orders");
  join.set_group("readers");
  join.set_start(pb::OFFSET_EARLIEST);
  ASSERT_TRUE(JoinGroupNow(join, "conn-1").ok());
  pb::DescribeGroupRequest describe;
  describe.set_topic("orders");
  describe.set_group("readers");
  auto group = broker_->DescribeGroup(describe);
  ASSERT_TRUE(group.ok());
  EXPECT_EQ(group->partitions(0).lag(), 2u);
  // The producer's retry of the recovered batch is a duplicate, not a second copy.
  auto retry = Publish("orders", 0, Batch(2, "a", {7, 0}));
  ASSERT_TRUE(retry.ok());
  EXPECT_TRUE(retry->results(0).duplicate());
  EXPECT_EQ(retry->results(0).last_offset(), 1u);
  fetched = Fetch("orders", 0, 0);
  ASSERT_TRUE(fetched.ok());
  EXPECT_EQ(Values(*fetched, 0).size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(BothModes, PublishDurabilityTest, testing::BothStorageModes(),
                         testing::StorageModeName);

}  // namespace
}  // namespace sprawl::broker
