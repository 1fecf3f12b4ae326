// RecordCatchUp against a real node's client port: the range it copies, its
// restart past records retention removed, and how it stops.
#include "core/replica/record_catch_up.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

#include "../broker/broker_test_util.h"
#include "core/client/client.h"
#include "core/client/producer.h"
#include "core/node/node.h"
#include "core/storage/record_batch.h"

namespace sprawl::replica {
namespace {

namespace pb = protocol::pb;

// The test thread plays the event loop: posted work runs in Drain.
class Loop {
 public:
  RecordCatchUp::Post Post() {
    return [this](std::function<void()> work) {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(work));
      cv_.notify_one();
    };
  }
  // Runs posted work until `done()` holds; false after `limit` without it.
  bool Drain(const std::function<bool()>& done,
             std::chrono::milliseconds limit = std::chrono::milliseconds(20'000)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      std::function<void()> work;
      {
        std::unique_lock lock(mu_);
        if (!cv_.wait_until(lock, deadline, [this] { return !queue_.empty(); })) return false;
        work = std::move(queue_.front());
        queue_.pop_front();
      }
      work();
    }
    return true;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
};

// What a catch-up appended locally, checked the way the pipeline would.
struct LocalLog {
  uint64_t end = 0;
  std::vector<std::string> values;
  std::vector<uint64_t> restarts;

  Result<uint64_t> Apply(std::string_view bytes) {
    SPRAWL_ASSIGN_OR_RETURN(auto batch, storage::RecordBatchView::ParseVerified(bytes));
    if (batch.base_offset() != end) return DataCorruption("not contiguous");
    SPRAWL_ASSIGN_OR_RETURN(auto records, batch.Records());
    storage::RecordView record;
    while (records.Next(&record)) values.emplace_back(record.value);
    end = batch.last_offset() + 1;
    return end;
  }
  Result<uint64_t> RestartAt(uint64_t start) {
    restarts.push_back(start);
    end = start;
    return end;
  }
};

class RecordCatchUpTest : public ::testing::Test {
 protected:
  void Start(storage::StorageMode mode = storage::StorageMode::kDisk) {
    node::NodeConfig config;
    config.data_dir = dir_.Sub("data");
    config.client_port = 0;
    config.http_port = 0;
    config.storage = mode;
    config.retention_interval = std::chrono::milliseconds(20);
    auto node = node::Node::Start(config);
    ASSERT_TRUE(node.ok()) << node.status().ToString();
    node_ = std::move(*node);
    client::ClientConfig cc;
    cc.server = node_->client_endpoint();
    client_ = std::move(*client::Client::Connect(cc));
  }

  // `n` records in batches of `per_batch`, on partition 0 of `topic`.
  void Publish(const std::string& topic, int n, int per_batch) {
    client::ProducerConfig pc;
    pc.linger = std::chrono::milliseconds(1000);
    client::Producer producer(*client_, pc);
    for (int i = 0; i < n; ++i) {
      producer.Send(topic, std::nullopt, "v" + std::to_string(i), {}, {}, 0);
      if ((i + 1) % per_batch == 0) {
        ASSERT_TRUE(producer.Flush().ok());
      }
    }
    ASSERT_TRUE(producer.Flush().ok());
  }

  std::unique_ptr<RecordCatchUp> CatchUp(LocalLog& local, uint64_t from, uint64_t to,
                                         std::optional<Status>& outcome) {
    auto made = RecordCatchUp::Create(
        "orders", 0, node_->client_endpoint(), from, to, loop_.Post(),
        [&local](std::string_view b) { return local.Apply(b); },
        [&local](uint64_t start) { return local.RestartAt(start); },
        [&outcome](const Status& s) { outcome = s; });
    EXPECT_TRUE(made.ok()) << made.status().ToString();
    return made.ok() ? std::move(*made) : nullptr;
  }

  uint64_t Offset(pb::OffsetSpec spec) {
    auto offset = client_->ListOffset("orders", 0, spec);
    EXPECT_TRUE(offset.ok()) << offset.status().ToString();
    return offset.ok() ? *offset : 0;
  }

  broker::testing::ScratchDir dir_;
  std::unique_ptr<node::Node> node_;
  std::unique_ptr<client::Client> client_;
  Loop loop_;
};

TEST_F(RecordCatchUpTest, CopiesEveryBatchOfTheRangeInOrderAndStopsAtItsEnd) {
  Start();
  ASSERT_TRUE(client_->CreateTopic("orders").ok());
  Publish("orders", 3000, 100);  // 30 batches, more than one fetch's worth of calls
  const uint64_t latest = Offset(pb::OFFSET_LATEST);
  ASSERT_EQ(latest, 3000u);

  LocalLog whole;
  std::optional<Status> outcome;
  auto catch_up = CatchUp(whole, 0, latest, outcome);
  catch_up->Start();
  ASSERT_TRUE(loop_.Drain([&] { return outcome.has_value(); }));
  ASSERT_TRUE(outcome->ok()) << outcome->ToString();
  EXPECT_EQ(whole.end, latest);
  ASSERT_EQ(whole.values.size(), 3000u);
  for (size_t i = 0; i < whole.values.size(); ++i)
    EXPECT_EQ(whole.values[i], "v" + std::to_string(i));
  EXPECT_GT(catch_up->bytes_copied(), 3000u * 2);

  // From a batch boundary in the middle to another one: that range only.
  LocalLog part;
  part.end = 1000;
  std::optional<Status> second;
  auto range = CatchUp(part, 1000, 2000, second);
  range->Start();
  ASSERT_TRUE(loop_.Drain([&] { return second.has_value(); }));
  ASSERT_TRUE(second->ok()) << second->ToString();
  EXPECT_EQ(part.end, 2000u);
  ASSERT_EQ(part.values.size(), 1000u);
  EXPECT_EQ(part.values.front(), "v1000");
  EXPECT_EQ(part.values.back(), "v1999");
}

TEST_F(RecordCatchUpTest, RestartsAtTheSourcesFirstRecordWhenRetentionRemovedTheOnesBefore) {
  Start(storage::StorageMode::kMemory);
  pb::TopicConfig config;
  config.set_retention_bytes(4000);
  ASSERT_TRUE(client_->CreateTopic("orders", config).ok());
  Publish("orders", 2000, 100);
  uint64_t first = 0;
  for (int i = 0; i < 1000 && (first = Offset(pb::OFFSET_EARLIEST)) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // retention runs every 20 ms
  }
  ASSERT_GT(first, 0u) << "retention removed nothing";
  const uint64_t latest = Offset(pb::OFFSET_LATEST);

  LocalLog local;
  std::optional<Status> outcome;
  auto catch_up = CatchUp(local, 0, latest, outcome);
  catch_up->Start();
  ASSERT_TRUE(loop_.Drain([&] { return outcome.has_value(); }));
  ASSERT_TRUE(outcome->ok()) << outcome->ToString();
  ASSERT_EQ(local.restarts.size(), 1u);
  EXPECT_GE(local.restarts[0], first);  // retention may have run again meanwhile
  EXPECT_EQ(local.end, latest);
  ASSERT_FALSE(local.values.empty());
  EXPECT_EQ(local.values.front(), "v" + std::to_string(local.restarts[0]));
  EXPECT_EQ(local.values.back(), "v" + std::to_string(latest - 1));
}

TEST_F(RecordCatchUpTest, StopsWithAnErrorWhenTheSourceHoldsLessThanTheTarget) {
  Start();
  ASSERT_TRUE(client_->CreateTopic("orders").ok());
  Publish("orders", 200, 100);
  LocalLog local;
  std::optional<Status> outcome;
  auto catch_up = CatchUp(local, 0, 500, outcome);
  catch_up->Start();
  ASSERT_TRUE(loop_.Drain([&] { return outcome.has_value(); }));
  EXPECT_EQ(outcome->code(), ErrorCode::kIoError) << outcome->ToString();
  EXPECT_NE(outcome->message().find("returned no record"), std::string::npos);
  EXPECT_EQ(local.end, 200u);  // what it did copy stays copied
}

TEST_F(RecordCatchUpTest, AMissingTopicOrADestroyedCatchUpEndsItWithoutAnotherCopy) {
  Start();
  LocalLog local;
  std::optional<Status> outcome;
  auto missing = CatchUp(local, 0, 10, outcome);
  missing->Start();
  ASSERT_TRUE(loop_.Drain([&] { return outcome.has_value(); }));
  EXPECT_EQ(outcome->code(), ErrorCode::kNotFound) << outcome->ToString();

  ASSERT_TRUE(client_->CreateTopic("orders").ok());
  Publish("orders", 100, 100);
  std::optional<Status> never;
  LocalLog other;
  auto destroyed = CatchUp(other, 0, 100, never);
  destroyed->Start();
  destroyed.reset();
  // The reply, if one came, is dropped: nothing is copied, `done` never runs.
  loop_.Drain([] { return false; }, std::chrono::milliseconds(300));
  EXPECT_FALSE(never.has_value());
  EXPECT_EQ(other.end, 0u);
}

}  // namespace
}  // namespace sprawl::replica
