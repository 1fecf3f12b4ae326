#include "core/storage/group_commit_writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "core/storage/rocks_engine.h"
#include "storage_test_util.h"
#include "tests/support/fault_injection_fs.h"

namespace sprawl::storage {
namespace {

using sprawl::testing::FaultInjectionFs;
using testing::TempDir;
using testing::WaitFor;

class GroupCommitWriterTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    StoreOptions o;
    o.data_dir = dir_.Sub("data");
    o.fsync = *FsyncPolicy::Parse(GetParam());
    auto engine = RocksEngine::Open(o, metrics_);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    engine_ = std::move(engine).value();
  }

  std::string Get(const std::string& key) {
    std::string value;
    auto s = engine_->db()->Get({}, engine_->state_cf(), key, &value);
    return s.ok() ? value : "<" + s.ToString() + ">";
  }

  TempDir dir_;
  metrics::Registry registry_;
  StorageMetrics metrics_{registry_};
  std::unique_ptr<RocksEngine> engine_;
};

TEST_P(GroupCommitWriterTest, CallbacksRunInSubmissionOrderAfterTheWrite) {
  std::mutex mu;
  std::vector<int> order;
  for (int i = 0; i < 200; ++i) {
    engine_->writer().Submit(
        {WriteOp::Put(engine_->state_cf(), "k" + std::to_string(i), std::to_string(i))},
        [&, i](const Status& s) {
          ASSERT_TRUE(s.ok());
          // The write is visible by the time its callback runs.
          EXPECT_EQ(Get("k" + std::to_string(i)), std::to_string(i));
          std::lock_guard lock(mu);
          order.push_back(i);
        });
  }
  ASSERT_TRUE(engine_->writer().Flush().ok());
  ASSERT_EQ(order.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(order[i], i);
}

TEST_P(GroupCommitWriterTest, LaterOperationsWinOverEarlierOnes) {
  auto& w = engine_->writer();
  w.Submit({WriteOp::Put(engine_->state_cf(), "a", "1")}, [](const Status&) {});
  w.Submit({WriteOp::Put(engine_->state_cf(), "b", "1")}, [](const Status&) {});
  w.Submit({WriteOp::Delete(engine_->state_cf(), "a")}, [](const Status&) {});
  ASSERT_TRUE(w.SubmitAndWait({WriteOp::DeleteRange(engine_->state_cf(), "b", "c"),
                               WriteOp::Put(engine_->state_cf(), "c", "2")})
                  .ok());
  EXPECT_NE(Get("a").find("NotFound"), std::string::npos);
  EXPECT_NE(Get("b").find("NotFound"), std::string::npos);
  EXPECT_EQ(Get("c"), "2");
}

TEST_P(GroupCommitWriterTest, ConcurrentSubmittersShareWrites) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 250;
  std::atomic<int> acked{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        engine_->writer().Submit(
            {WriteOp::Put(engine_->state_cf(), "t" + std::to_string(t) + "-" + std::to_string(i),
                          std::string(100, 'v'))},
            [&](const Status& s) {
              EXPECT_TRUE(s.ok());
              ++acked;
            });
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(engine_->writer().Flush().ok());
  EXPECT_EQ(acked.load(), kThreads * kPerThread);
  EXPECT_EQ(metrics_.disk_write_requests.Value(), uint64_t{kThreads} * kPerThread);
  // Submissions that arrived while a write was in progress were merged.
  EXPECT_LT(metrics_.disk_writes.Value(), metrics_.disk_write_requests.Value());
  EXPECT_EQ(metrics_.writer_queue_bytes.Value(), 0);
}

TEST_P(GroupCommitWriterTest, FlushSyncsWhateverThePolicy) {
  ASSERT_TRUE(engine_->writer().SubmitAndWait({WriteOp::Put(engine_->state_cf(), "x", "y")}).ok());
  const uint64_t before = metrics_.fsyncs.Value();
  ASSERT_TRUE(engine_->writer().SubmitAndWait({WriteOp::Put(engine_->state_cf(), "x", "z")}).ok());
  ASSERT_TRUE(engine_->writer().Flush().ok());
  EXPECT_GT(metrics_.fsyncs.Value(), before);
}

INSTANTIATE_TEST_SUITE_P(Policies, GroupCommitWriterTest,
                         ::testing::Values("always", "interval:5", "never"), [](const auto& info) {
                           std::string name = info.param;
                           return name.substr(0, name.find(':'));
                         });

TEST(GroupCommitWriterIntervalTest, IdleWritesAreSyncedWithinTheInterval) {
  TempDir dir;
  metrics::Registry registry;
  StorageMetrics metrics(registry);
  StoreOptions o;
  o.data_dir = dir.Sub("data");
  o.fsync = *FsyncPolicy::Parse("interval:5");
  auto engine = RocksEngine::Open(o, metrics);
  ASSERT_TRUE(engine.ok());
  const uint64_t before = metrics.fsyncs.Value();
  ASSERT_TRUE(
      (*engine)->writer().SubmitAndWait({WriteOp::Put((*engine)->state_cf(), "k", "v")}).ok());
  // No further traffic: the writer's timer alone must sync.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (metrics.fsyncs.Value() == before && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_GT(metrics.fsyncs.Value(), before);
}

// A writer under the never policy on a file system that injects faults.
class GroupCommitWriterFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions o;
    o.data_dir = dir_.Sub("data");
    o.fsync = *FsyncPolicy::Parse("never");
    o.file_system = fs;
    auto engine = RocksEngine::Open(o, metrics);
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    engine_ = std::move(engine).value();
  }

  TempDir dir_;
  metrics::Registry registry_;
  StorageMetrics metrics{registry_};
  std::shared_ptr<FaultInjectionFs> fs = std::make_shared<FaultInjectionFs>();
  std::unique_ptr<RocksEngine> engine_;
};

// A failed write fails its own submission and everything queued behind it,
// in order, with one non-retriable error; later submissions and Flush are
// refused without touching the disk again.
TEST_F(GroupCommitWriterFaultTest, AFailedWriteFailsEverySubmissionInOrderWithOneError) {
  GroupCommitWriter& w = engine_->writer();
  ASSERT_TRUE(w.SubmitAndWait({WriteOp::Put(engine_->state_cf(), "ok", "1")}).ok());

  fs->Fail(FaultInjectionFs::Op::kWrite, FaultInjectionFs::kWal);
  std::mutex mu;
  std::vector<std::pair<int, Status>> outcomes;
  for (int i = 0; i < 50; ++i) {
    w.Submit({WriteOp::Put(engine_->state_cf(), "k" + std::to_string(i), "v")},
             [&, i](const Status& s) {
               std::lock_guard lock(mu);
               outcomes.emplace_back(i, s);
             });
  }
  const Status flushed = w.Flush();
  ASSERT_FALSE(flushed.ok());
  ASSERT_EQ(outcomes.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(outcomes[i].first, i);
    EXPECT_EQ(outcomes[i].second.code(), ErrorCode::kIoError);
    EXPECT_FALSE(outcomes[i].second.retriable());
    EXPECT_EQ(outcomes[i].second.message(), flushed.message());
  }
  EXPECT_EQ(w.failure().message(), flushed.message());
  EXPECT_EQ(metrics.failed.Value(), 1);
  EXPECT_GE(metrics.disk_write_errors.Value(), 1u);

  fs->ClearAll();
  const uint64_t writes = fs->calls(FaultInjectionFs::Op::kWrite, FaultInjectionFs::kWal);
  const uint64_t syncs = fs->calls(FaultInjectionFs::Op::kSync, FaultInjectionFs::kWal);
  EXPECT_EQ(w.SubmitAndWait({WriteOp::Put(engine_->state_cf(), "later", "v")}).message(),
            flushed.message());
  EXPECT_EQ(w.Flush().message(), flushed.message());
  EXPECT_EQ(fs->calls(FaultInjectionFs::Op::kWrite, FaultInjectionFs::kWal), writes);
  EXPECT_EQ(fs->calls(FaultInjectionFs::Op::kSync, FaultInjectionFs::kWal), syncs);
  EXPECT_EQ(w.queued_bytes(), 0u);
}

// Under the interval and never policies a write is acknowledged once written.
// When a flush (or the interval timer) lands in the same group, the write's
// callback must not wait for that group's sync: a caller blocked on its
// append while a slow sync runs would otherwise wait on the disk, and a test
// holding the sync deadlocked.
TEST_F(GroupCommitWriterFaultTest, AWriteGroupedWithASyncIsAcknowledgedBeforeTheSync) {
  GroupCommitWriter& w = engine_->writer();
  auto cf = engine_->state_cf();
  ASSERT_TRUE(w.SubmitAndWait({WriteOp::Put(cf, "a", "1")}).ok());

  fs->HoldSyncs();
  // The first flush's sync keeps the writer busy while the next group queues.
  auto first_flush = std::async(std::launch::async, [&] { return w.Flush(); });
  ASSERT_TRUE(WaitFor([&] { return fs->held_syncs() == 1; }));
  std::promise<Status> written;
  w.Submit({WriteOp::Put(cf, "b", "2")}, [&](const Status& s) { written.set_value(s); });
  auto second_flush = std::async(std::launch::async, [&] { return w.Flush(); });
  ASSERT_TRUE(WaitFor([&] { return w.queued_requests() == 2; }));

  // The first sync completes; the second group's write is done and its sync held.
  fs->AllowOneSync();
  ASSERT_TRUE(first_flush.get().ok());
  auto write_done = written.get_future();
  const bool acknowledged =
      write_done.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  EXPECT_TRUE(acknowledged) << "the write waited for a sync it did not ask for";
  EXPECT_EQ(second_flush.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout)
      << "the flush returned before its sync ran";
  fs->ReleaseSyncs();
  EXPECT_TRUE(second_flush.get().ok());
  if (acknowledged) {
    EXPECT_TRUE(write_done.get().ok());
  }
}

}  // namespace
}  // namespace sprawl::storage
