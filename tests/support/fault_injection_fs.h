#pragma once

#include <rocksdb/file_system.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

namespace sprawl::testing {

// A RocksDB file system that fails writes, syncs and reads on command, for
// tests of what the store does on a failing disk. It wraps the operating
// system's file system (or any other) and counts every operation it sees and
// every fault it injects. All methods are thread-safe: RocksDB calls it from
// its own threads while a test arms and clears faults.
class FaultInjectionFs : public rocksdb::FileSystemWrapper {
 public:
  enum class Op { kWrite, kSync, kRead };
  // What RocksDB keeps in a file, told by its name.
  enum FileKind : unsigned {
    kWal = 1,       // <number>.log
    kTable = 2,     // <number>.sst
    kManifest = 4,  // MANIFEST-<number>
    kOther = 8,     // CURRENT, OPTIONS-*, LOG, ...
    kBlob = 16,     // <number>.blob: values of the log family stored apart from its tables
  };
  static constexpr unsigned kDataFiles = kWal | kTable | kBlob;

  explicit FaultInjectionFs(
      std::shared_ptr<rocksdb::FileSystem> base = rocksdb::FileSystem::Default());

  const char* Name() const override { return "SprawlFaultInjectionFs"; }

  // From now on, `op` on files of `kinds` succeeds `after` more times and
  // then fails with an I/O error until Clear(op). Writes are Append and
  // PositionedAppend; syncs are Sync, Fsync and RangeSync; reads are Read,
  // MultiRead and PositionedRead of random-access and sequential files.
  void Fail(Op op, unsigned kinds = kDataFiles, uint64_t after = 0);
  // Stops injecting faults into `op`.
  void Clear(Op op);
  void ClearAll();

  // Operations of `op` seen on files of `kinds` (counted whether or not they
  // failed), and faults injected into `op`.
  uint64_t calls(Op op, unsigned kinds = kDataFiles) const;
  uint64_t injected(Op op) const;

  // While held, every sync of a WAL waits before it runs (and then fails if
  // a sync fault is armed). Lets a test act while a sync is in progress.
  void HoldSyncs();
  void ReleaseSyncs();
  // While held, lets exactly one held (or the next) WAL sync run; the ones
  // after it are held again.
  void AllowOneSync();
  // Syncs currently waiting on HoldSyncs.
  int held_syncs() const;

  // The kind of a file, told by its path.
  static FileKind KindOf(const std::string& path);

  // Called by the file wrappers: counts the operation, waits while syncs are
  // held, and returns the fault to inject, if any.
  rocksdb::IOStatus Check(Op op, FileKind kind, const std::string& path);

  rocksdb::IOStatus NewSequentialFile(const std::string& f, const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSSequentialFile>* r,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewRandomAccessFile(const std::string& f, const rocksdb::FileOptions& o,
                                        std::unique_ptr<rocksdb::FSRandomAccessFile>* r,
                                        rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                       std::unique_ptr<rocksdb::FSWritableFile>* r,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                                      const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* dbg) override;

 private:
  static constexpr size_t kOps = 3;
  static constexpr size_t kKinds = 5;
  struct Arm {
    bool armed = false;
    unsigned kinds = 0;
    uint64_t remaining_successes = 0;
  };

  mutable std::mutex mu_;
  std::condition_variable held_cv_;
  std::array<Arm, kOps> arms_{};
  std::array<std::array<uint64_t, kKinds>, kOps> calls_{};
  std::array<uint64_t, kOps> injected_{};
  bool hold_syncs_ = false;
  int held_syncs_ = 0;
  int sync_permits_ = 0;  // held syncs AllowOneSync lets through
};

}  // namespace sprawl::testing
