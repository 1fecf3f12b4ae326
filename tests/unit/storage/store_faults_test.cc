// The store on a failing disk, through a fault-injecting RocksDB file system:
// each failed write, sync or read gives the caller a clear error, nothing
// acknowledged is lost (reopened after the fault, the store reads back every
// acknowledged append), nothing is reported durable that is not, and a failed
// sync is never retried as if the data were safe.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "core/storage/store.h"
#include "storage_test_util.h"
#include "tests/support/fault_injection_fs.h"

namespace sprawl::storage {
namespace {

using sprawl::testing::FaultInjectionFs;
using testing::MakeBatch;
using testing::ReadValues;
using testing::TempDir;
using testing::WaitFor;
using Op = FaultInjectionFs::Op;

const PartitionKey kKey{"orders", 0};

// Values of the batch MakeBatch(count, prefix).
std::vector<std::string> Values(int count, const std::string& prefix) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) out.push_back(prefix + "-" + std::to_string(i));
  return out;
}

// A failure of the store: IO_ERROR, not retriable, saying the store must be
// reopened.
void ExpectStoreFailure(const Status& s, const std::string& cause) {
  EXPECT_EQ(s.code(), ErrorCode::kIoError) << s.ToString();
  EXPECT_FALSE(s.retriable()) << s.ToString();
  EXPECT_NE(s.message().find(cause), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("until it is reopened"), std::string::npos) << s.ToString();
}

class StoreFaultTest : public ::testing::TestWithParam<const char*> {
 protected:
  StoreOptions Options() const {
    StoreOptions o;
    o.data_dir = dir_.Sub("data");
    o.fsync = *FsyncPolicy::Parse(GetParam());
    o.segment_bytes = 4096;
    o.memory_tier_bytes_per_partition = 64 << 10;
    o.writer_queue_bytes = 1 << 20;
    o.file_system = fs_;
    return o;
  }

  void Open() {
    store_.reset();
    auto store = Store::Open(Options(), registry_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    auto log = store_->OpenPartition(kKey);
    ASSERT_TRUE(log.ok());
    log_ = *log;
  }

  // Appends a batch; on success its values join the acknowledged ones.
  Result<AppendInfo> Append(int count, const std::string& prefix) {
    auto info = log_->Append(MakeBatch(count, prefix), 1);
    if (info.ok()) {
      for (auto& v : Values(count, prefix)) acked_.push_back(v);
    }
    return info;
  }

  // Reopens the store with no fault armed and checks that it holds every
  // acknowledged value, in order, followed by at most the values of a batch
  // whose failed write reached the disk anyway (at-least-once).
  void ReopenAndCheckNothingAcknowledgedIsLost(const std::vector<std::string>& maybe = {}) {
    fs_->ClearAll();
    Open();
    const std::vector<std::string> stored = ReadValues(*log_, 0);
    ASSERT_GE(stored.size(), acked_.size());
    EXPECT_EQ(std::vector<std::string>(stored.begin(), stored.begin() + acked_.size()), acked_);
    std::vector<std::string> extra(stored.begin() + acked_.size(), stored.end());
    if (!extra.empty()) {
      EXPECT_EQ(extra, maybe);
    }
  }

  // After a reopen the store serves again: appends, reads and flushes work.
  void ExpectServing() {
    auto info = Append(3, "after");
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    ASSERT_TRUE(store_->Flush().ok());
    EXPECT_TRUE(store_->failure().ok());
    const auto stored = ReadValues(*log_, info->base_offset);
    EXPECT_EQ(stored, Values(3, "after"));
  }

  TempDir dir_;
  std::shared_ptr<FaultInjectionFs> fs_ = std::make_shared<FaultInjectionFs>();
  metrics::Registry registry_;
  std::unique_ptr<Store> store_;
  PartitionLog* log_ = nullptr;
  std::vector<std::string> acked_;
};

TEST_P(StoreFaultTest, FailedWriteIsReportedAndRefusesWritesUntilReopened) {
  Open();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Append(10, "a" + std::to_string(i)).ok());
  fs_->Fail(Op::kWrite, FaultInjectionFs::kWal);

  auto failed = Append(5, "lost");
  ASSERT_FALSE(failed.ok());
  ExpectStoreFailure(failed.status(), "write-ahead log failed");
  EXPECT_NE(failed.status().message().find("injected write fault"), std::string::npos);
  ExpectStoreFailure(store_->failure(), "write-ahead log failed");
  EXPECT_EQ(testing::MetricValue(registry_, "sprawl_storage_failed"), 1u);

  // The failed batch is never served, what was acknowledged still is.
  ReadLimits limits;
  auto unwritten = log_->Read(200, limits);
  ASSERT_FALSE(unwritten.ok());
  EXPECT_EQ(unwritten.status().code(), ErrorCode::kIoError);
  auto head = log_->Read(0, limits);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_FALSE(head->batches.empty());

  // Refused while failed, even once the disk is healthy again, and the log
  // does not move.
  fs_->ClearAll();
  const uint64_t next = log_->NextOffset();
  auto refused = Append(1, "refused");
  ASSERT_FALSE(refused.ok());
  ExpectStoreFailure(refused.status(), "write-ahead log failed");
  EXPECT_EQ(log_->NextOffset(), next);
  ExpectStoreFailure(store_->Flush(), "write-ahead log failed");

  ReopenAndCheckNothingAcknowledgedIsLost(Values(5, "lost"));
  ExpectServing();
}

TEST_P(StoreFaultTest, FailedSyncIsNeverRetriedAsIfTheDataWereSafe) {
  Open();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(Append(10, "a" + std::to_string(i)).ok());
  ASSERT_TRUE(store_->Flush().ok());
  fs_->Fail(Op::kSync, FaultInjectionFs::kWal);

  // Under `always` the append itself syncs and fails; under the others it is
  // acknowledged on write, and the next sync (the timer's or Flush's) fails.
  const bool always = std::string(GetParam()) == "always";
  auto appended = Append(5, "unsynced");
  if (always) {
    ASSERT_FALSE(appended.ok());
    ExpectStoreFailure(appended.status(), "syncing the store's write-ahead log");
  } else {
    ASSERT_TRUE(appended.ok()) << appended.status().ToString();
    const Status flushed = store_->Flush();
    ASSERT_FALSE(flushed.ok());
    ExpectStoreFailure(flushed, "syncing the store's write-ahead log");
  }
  EXPECT_NE(store_->failure().message().find("may not be on disk"), std::string::npos)
      << store_->failure().ToString();
  EXPECT_GE(fs_->injected(Op::kSync), 1u);

  // The disk looks healthy again, but a second sync could succeed without the
  // lost pages: the store refuses writes and flushes without syncing again.
  fs_->ClearAll();
  const uint64_t syncs = fs_->calls(Op::kSync, FaultInjectionFs::kWal);
  auto refused = Append(1, "refused");
  ASSERT_FALSE(refused.ok());
  ExpectStoreFailure(refused.status(), "syncing the store's write-ahead log");
  ExpectStoreFailure(store_->Flush(), "syncing the store's write-ahead log");
  EXPECT_EQ(fs_->calls(Op::kSync, FaultInjectionFs::kWal), syncs);

  ReopenAndCheckNothingAcknowledgedIsLost(Values(5, "unsynced"));
  ExpectServing();
}

TEST_P(StoreFaultTest, FailedReadIsReportedNeverServedAndWritesGoOn) {
  Open();
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(Append(10, "a" + std::to_string(i)).ok());
  // Reopened, the batches are in table files and no block of them is cached.
  fs_->ClearAll();
  Open();
  fs_->Fail(Op::kRead, FaultInjectionFs::kTable);
  ReadLimits limits;
  auto read = log_->Read(0, limits);
  ASSERT_FALSE(read.ok()) << "served " << read->batches.size() << " batches";
  EXPECT_EQ(read.status().code(), ErrorCode::kIoError) << read.status().ToString();
  EXPECT_NE(read.status().message().find("from disk failed"), std::string::npos)
      << read.status().ToString();
  EXPECT_GE(fs_->injected(Op::kRead), 1u);
  // A read fault does not fail the store: appends go on.
  ASSERT_TRUE(Append(2, "during").ok());
  EXPECT_TRUE(store_->failure().ok());

  fs_->Clear(Op::kRead);
  EXPECT_EQ(ReadValues(*log_, 0), acked_);
  ReopenAndCheckNothingAcknowledgedIsLost();
}

// Recovery reads the newest segment of every partition; a read fault there
// must fail the open, not pass for a corrupt tail that recovery would cut.
TEST_P(StoreFaultTest, FailedReadOnOpenFailsTheOpenAndCutsNothing) {
  Open();
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(Append(10, "a" + std::to_string(i)).ok());
  store_.reset();
  fs_->Fail(Op::kRead, FaultInjectionFs::kDataFiles);
  auto refused = Store::Open(Options(), registry_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kIoError) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("injected read fault"), std::string::npos)
      << refused.status().ToString();
  ReopenAndCheckNothingAcknowledgedIsLost();
  ExpectServing();
}

// Appends in flight when the disk fails: the acknowledged ones are exactly a
// prefix of the log (the writer's order is the offset order), and all of them
// are there after a reopen. The batches overflow the writer's queue bound, so
// they go out in several write groups; the fault is armed once the first
// group is written.
TEST_P(StoreFaultTest, AppendsInFlightWhenAWriteFailsLoseNothingAcknowledged) {
  Open();
  constexpr int kBatches = 400;
  auto prefix = [](int i) { return "b" + std::to_string(i) + std::string(4000, 'x'); };
  const Op op = std::string(GetParam()) == "always" ? Op::kSync : Op::kWrite;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  std::vector<uint64_t> acked_offsets;
  size_t failed = 0;
  for (int i = 0; i < kBatches; ++i) {
    log_->AppendAsync(MakeBatch(2, prefix(i)), 1, [&, i](Result<AppendInfo> r) {
      if (i == 0) fs_->Fail(op, FaultInjectionFs::kWal);
      std::lock_guard lock(mu);
      if (r.ok()) {
        acked_offsets.push_back(r->base_offset);
      } else {
        EXPECT_EQ(r.status().code(), ErrorCode::kIoError) << r.status().ToString();
        EXPECT_FALSE(r.status().retriable());
        ++failed;
      }
      ++done;
      cv.notify_all();
    });
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return done == kBatches; }));
  }
  ASSERT_FALSE(acked_offsets.empty());
  ASSERT_GT(failed, 0u) << "the fault never fired";
  for (size_t i = 0; i < acked_offsets.size(); ++i) {
    ASSERT_EQ(acked_offsets[i], 2 * i) << "acknowledgements are not a prefix of the log";
    for (auto& v : Values(2, prefix(static_cast<int>(i)))) acked_.push_back(v);
  }
  fs_->ClearAll();
  Open();
  const std::vector<std::string> stored = ReadValues(*log_, 0);
  ASSERT_GE(stored.size(), acked_.size());
  EXPECT_EQ(std::vector<std::string>(stored.begin(), stored.begin() + acked_.size()), acked_);
  ExpectServing();
}

INSTANTIATE_TEST_SUITE_P(Policies, StoreFaultTest,
                         ::testing::Values("always", "interval:5", "never"), [](const auto& info) {
                           std::string name = info.param;
                           return name.substr(0, name.find(':'));
                         });

// Under interval:<ms> the timer's sync runs beside the writer. A Flush that
// arrives while that sync is in progress must wait for its outcome: before,
// it reported success at once because the timer had already taken the
// "unsynced" flag.
TEST(StoreSyncRaceTest, FlushNeverReportsASyncStillInProgressAsDone) {
  TempDir dir;
  metrics::Registry registry;
  auto fs = std::make_shared<FaultInjectionFs>();
  StoreOptions o;
  o.data_dir = dir.Sub("data");
  o.fsync = *FsyncPolicy::Parse("interval:1");
  o.file_system = fs;
  auto store = Store::Open(o, registry);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto log = (*store)->OpenPartition(kKey);
  ASSERT_TRUE(log.ok());

  fs->HoldSyncs();
  fs->Fail(Op::kSync, FaultInjectionFs::kWal);
  ASSERT_TRUE((*log)->Append(MakeBatch(3, "x"), 1).ok());
  ASSERT_TRUE(WaitFor([&] { return fs->held_syncs() > 0; }));  // the timer's sync

  auto flushed = std::async(std::launch::async, [&] { return (*store)->Flush(); });
  EXPECT_EQ(flushed.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout)
      << "Flush returned while the only sync covering the append was still running: "
      << flushed.get().ToString();
  fs->ReleaseSyncs();
  const Status s = flushed.get();
  ASSERT_FALSE(s.ok());
  ExpectStoreFailure(s, "syncing the store's write-ahead log");
}

}  // namespace
}  // namespace sprawl::storage
