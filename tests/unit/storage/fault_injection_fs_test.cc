// The fault-injecting file system itself, on a bare RocksDB: each armed
// fault reaches RocksDB as an I/O error, counters count, and clearing a fault
// lets the same operation through again.
#include "tests/support/fault_injection_fs.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>

#include <atomic>
#include <thread>
#include <vector>

#include "storage_test_util.h"

namespace sprawl::testing {
namespace {

using Op = FaultInjectionFs::Op;

class FaultInjectionFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs_ = std::make_shared<FaultInjectionFs>();
    env_ = rocksdb::NewCompositeEnv(fs_);
    rocksdb::Options options;
    options.create_if_missing = true;
    options.env = env_.get();
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir_.Sub("db"), &db).ok());
    db_.reset(db);
  }

  rocksdb::Status SyncPut(const std::string& key) {
    rocksdb::WriteOptions w;
    w.sync = true;
    return db_->Put(w, key, "v");
  }

  storage::testing::TempDir dir_;
  std::shared_ptr<FaultInjectionFs> fs_;
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<rocksdb::DB> db_;
};

TEST_F(FaultInjectionFsTest, TellsFileKindsByName) {
  EXPECT_EQ(FaultInjectionFs::KindOf("/d/000012.log"), FaultInjectionFs::kWal);
  EXPECT_EQ(FaultInjectionFs::KindOf("/d/000013.sst"), FaultInjectionFs::kTable);
  EXPECT_EQ(FaultInjectionFs::KindOf("/d/000014.blob"), FaultInjectionFs::kBlob);
  EXPECT_EQ(FaultInjectionFs::KindOf("/d/MANIFEST-000005"), FaultInjectionFs::kManifest);
  EXPECT_EQ(FaultInjectionFs::KindOf("/d/LOG"), FaultInjectionFs::kOther);
  EXPECT_EQ(FaultInjectionFs::KindOf("/d/CURRENT"), FaultInjectionFs::kOther);
}

TEST_F(FaultInjectionFsTest, AnArmedWriteFaultFailsTheWalAppendAndIsCounted) {
  ASSERT_TRUE(db_->Put({}, "a", "1").ok());
  EXPECT_GT(fs_->calls(Op::kWrite, FaultInjectionFs::kWal), 0u);
  EXPECT_EQ(fs_->injected(Op::kWrite), 0u);
  fs_->Fail(Op::kWrite);
  const rocksdb::Status s = db_->Put({}, "b", "2");
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_NE(s.ToString().find("injected write fault"), std::string::npos) << s.ToString();
  EXPECT_EQ(fs_->injected(Op::kWrite), 1u);
}

TEST_F(FaultInjectionFsTest, AnArmedSyncFaultFailsASyncedWriteAndSyncWal) {
  fs_->Fail(Op::kSync);
  EXPECT_TRUE(SyncPut("a").IsIOError());
  EXPECT_EQ(fs_->injected(Op::kSync), 1u);
  EXPECT_GE(fs_->calls(Op::kSync, FaultInjectionFs::kWal), 1u);
}

TEST_F(FaultInjectionFsTest, FaultsStartAfterTheGivenNumberOfSuccesses) {
  fs_->Fail(Op::kSync, FaultInjectionFs::kWal, /*after=*/2);
  EXPECT_TRUE(SyncPut("a").ok());
  EXPECT_TRUE(SyncPut("b").ok());
  EXPECT_TRUE(SyncPut("c").IsIOError());
  EXPECT_EQ(fs_->injected(Op::kSync), 1u);
}

TEST_F(FaultInjectionFsTest, FaultsOnOtherFileKindsLeaveTheWalAlone) {
  fs_->Fail(Op::kWrite, FaultInjectionFs::kTable);
  fs_->Fail(Op::kSync, FaultInjectionFs::kManifest);
  EXPECT_TRUE(SyncPut("a").ok());
  EXPECT_EQ(fs_->injected(Op::kWrite), 0u);
  EXPECT_EQ(fs_->injected(Op::kSync), 0u);
  // A flush writes a table file: that write fails.
  EXPECT_FALSE(db_->Flush(rocksdb::FlushOptions()).ok());
  EXPECT_GE(fs_->injected(Op::kWrite), 1u);
}

TEST_F(FaultInjectionFsTest, AReadFaultFailsReadsOfTableFilesUntilCleared) {
  ASSERT_TRUE(db_->Put({}, "k", std::string(1000, 'x')).ok());
  ASSERT_TRUE(db_->Flush(rocksdb::FlushOptions()).ok());
  // Reopen, so no block of the table is cached.
  db_.reset();
  rocksdb::Options options;
  options.env = env_.get();
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, dir_.Sub("db"), &db).ok());
  db_.reset(db);

  fs_->Fail(Op::kRead, FaultInjectionFs::kTable);
  std::string value;
  const rocksdb::Status failed = db_->Get({}, "k", &value);
  EXPECT_TRUE(failed.IsIOError()) << failed.ToString();
  EXPECT_GE(fs_->injected(Op::kRead), 1u);
  fs_->Clear(Op::kRead);
  ASSERT_TRUE(db_->Get({}, "k", &value).ok());
  EXPECT_EQ(value, std::string(1000, 'x'));
}

TEST_F(FaultInjectionFsTest, ClearingLetsOperationsThroughAgain) {
  fs_->Fail(Op::kWrite);
  fs_->Fail(Op::kSync);
  fs_->ClearAll();
  EXPECT_TRUE(SyncPut("a").ok());
  EXPECT_EQ(fs_->injected(Op::kWrite) + fs_->injected(Op::kSync), 0u);
}

TEST_F(FaultInjectionFsTest, HeldSyncsWaitUntilReleased) {
  fs_->HoldSyncs();
  std::thread writer([&] { EXPECT_TRUE(SyncPut("a").ok()); });
  while (fs_->held_syncs() == 0) std::this_thread::yield();
  EXPECT_EQ(fs_->held_syncs(), 1);
  fs_->ReleaseSyncs();
  writer.join();
  EXPECT_EQ(fs_->held_syncs(), 0);
}

// Without a database on it, so nothing but the test's threads counts.
TEST(FaultInjectionFsCountTest, CountsExactlyUnderConcurrentUse) {
  auto fs_ = std::make_shared<FaultInjectionFs>();
  constexpr int kThreads = 4;
  constexpr int kEach = 500;
  fs_->Fail(Op::kRead, FaultInjectionFs::kOther, /*after=*/kThreads * kEach / 2);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        if (!fs_->Check(Op::kRead, FaultInjectionFs::kOther, "x").ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(fs_->calls(Op::kRead, FaultInjectionFs::kOther), uint64_t{kThreads * kEach});
  EXPECT_EQ(failures.load(), kThreads * kEach / 2);
  EXPECT_EQ(fs_->injected(Op::kRead), uint64_t{kThreads * kEach / 2});
}

}  // namespace
}  // namespace sprawl::testing
