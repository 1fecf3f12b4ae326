// The log column family keeps large batches in RocksDB blob files (section 14
// of docs/storage.md): they read back after a reopen, retention gives their
// space back, a failing blob file read is reported and never served, and the
// RocksDB options of the store are checked before anything is created.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/storage/store.h"
#include "storage_test_util.h"
#include "tests/support/fault_injection_fs.h"

namespace sprawl::storage {
namespace {

using sprawl::testing::FaultInjectionFs;
using testing::ReadValues;
using testing::TempDir;
namespace fs = std::filesystem;
using Op = FaultInjectionFs::Op;

// A batch of 16 records of 1 KiB: above the log family's min_blob_size.
std::string BigBatch(const std::string& tag) {
  return testing::MakeBatch(16, tag + std::string(1024, 'v'));
}

// Blob files in the store's RocksDB directory and their total size.
std::pair<int, uint64_t> BlobFiles(const std::string& data_dir) {
  int files = 0;
  uint64_t bytes = 0;
  for (const auto& entry : fs::directory_iterator(data_dir + "/rocksdb")) {
    if (entry.path().extension() == ".blob") {
      ++files;
      bytes += entry.file_size();
    }
  }
  return {files, bytes};
}

class LogBlobFilesTest : public ::testing::Test {
 protected:
  StoreOptions Options() const {
    StoreOptions o;
    o.data_dir = dir_.Sub("data");
    o.segment_bytes = 64 << 10;
    o.fsync = *FsyncPolicy::Parse("never");
    return o;
  }
  Result<std::unique_ptr<Store>> Open(const StoreOptions& o) { return Store::Open(o, registry_); }

  TempDir dir_;
  metrics::Registry registry_;
};

TEST_F(LogBlobFilesTest, LargeBatchesGoToBlobFilesAndReadBackAfterReopen) {
  std::vector<std::string> expected;
  {
    auto store = Open(Options());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto log = *(*store)->OpenPartition({"t", 0});
    for (int i = 0; i < 20; ++i) {
      const std::string batch = BigBatch("b" + std::to_string(i));
      ASSERT_TRUE(log->Append(batch, 1).ok());
    }
    expected = ReadValues(*log, 0);
    ASSERT_TRUE((*store)->SettleDisk().ok());
    EXPECT_GE(BlobFiles(Options().data_dir).first, 1);
  }
  auto store = Open(Options());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto log = *(*store)->GetPartition({"t", 0});
  EXPECT_EQ(log->Stats().memory_batches, 0u);
  EXPECT_EQ(ReadValues(*log, 0), expected);
  EXPECT_EQ(expected.size(), 20u * 16u);
}

TEST_F(LogBlobFilesTest, RetentionGivesTheBlobFilesSpaceBack) {
  auto store = Open(Options());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto log = *(*store)->OpenPartition({"t", 0});
  // Old data, flushed into blob files of its own.
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(log->Append(BigBatch("old"), 1).ok());
  ASSERT_TRUE((*store)->SettleDisk().ok());
  const auto [old_files, old_bytes] = BlobFiles(Options().data_dir);
  ASSERT_GE(old_files, 1);
  // New data in later blob files.
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(log->Append(BigBatch("new"), 1).ok());
  ASSERT_TRUE((*store)->SettleDisk().ok());
  ASSERT_TRUE(log->SetCommitIndex(log->NextOffset()).ok());

  RetentionPolicy policy;
  // Segments are 4 batches (64 KiB), so the 40 old batches fill 10 segments
  // and the 8 new ones 2: a bound of 100 KiB deletes every old segment and
  // keeps both new ones.
  policy.max_bytes = 100 << 10;
  auto outcome = log->ApplyRetention(policy, 0);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  ASSERT_GT(log->FirstOffset(), 0u);
  ASSERT_TRUE((*store)->SettleDisk().ok());

  EXPECT_EQ(log->FirstOffset(), 40u * 16u);
  const auto [files, bytes] = BlobFiles(Options().data_dir);
  // The old data's blob files are gone; what is left holds the new data.
  EXPECT_LT(bytes, old_bytes / 2) << files << " blob files left";
  EXPECT_EQ(ReadValues(*log, log->FirstOffset()).size(), log->NextOffset() - log->FirstOffset());
}

TEST_F(LogBlobFilesTest, AFailedBlobReadIsReportedAndNeverServed) {
  auto fault_fs = std::make_shared<FaultInjectionFs>();
  StoreOptions options = Options();
  options.file_system = fault_fs;
  {
    auto store = Open(options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto log = *(*store)->OpenPartition({"t", 0});
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->Append(BigBatch("b"), 1).ok());
    ASSERT_TRUE((*store)->SettleDisk().ok());
  }
  auto store = Open(options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto log = *(*store)->GetPartition({"t", 0});
  fault_fs->Fail(Op::kRead, FaultInjectionFs::kBlob);
  auto read = log->Read(0, {});
  ASSERT_FALSE(read.ok()) << "served " << read->batches.size() << " batches";
  EXPECT_EQ(read.status().code(), ErrorCode::kIoError) << read.status().ToString();
  EXPECT_GE(fault_fs->injected(Op::kRead), 1u);
  fault_fs->Clear(Op::kRead);
  EXPECT_EQ(ReadValues(*log, 0).size(), 10u * 16u);
}

TEST_F(LogBlobFilesTest, RocksDbOptionStringsAreCheckedBeforeAnythingIsCreated) {
  StoreOptions o = Options();
  o.rocksdb_log_options = "no_such_option=1";
  auto store = Open(o);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(store.status().message().find("no_such_option"), std::string::npos);
  EXPECT_FALSE(fs::exists(o.data_dir));

  o = Options();
  o.rocksdb_db_options = "max_background_jobs=many";
  store = Open(o);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(o.data_dir));

  // A valid string applies: with blob files off, nothing is written to one.
  o = Options();
  o.rocksdb_log_options = "enable_blob_files=false";
  store = Open(o);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto log = *(*store)->OpenPartition({"t", 0});
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(log->Append(BigBatch("b"), 1).ok());
  ASSERT_TRUE((*store)->SettleDisk().ok());
  EXPECT_EQ(BlobFiles(o.data_dir).first, 0);
}

}  // namespace
}  // namespace sprawl::storage
