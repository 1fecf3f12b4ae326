#include "tests/support/fault_injection_fs.h"

#include <utility>

namespace sprawl::testing {
namespace {

using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;
using Op = FaultInjectionFs::Op;
using FileKind = FaultInjectionFs::FileKind;

size_t KindIndex(FileKind kind) {
  switch (kind) {
    case FaultInjectionFs::kWal:
      return 0;
    case FaultInjectionFs::kTable:
      return 1;
    case FaultInjectionFs::kManifest:
      return 2;
    case FaultInjectionFs::kOther:
      return 3;
    case FaultInjectionFs::kBlob:
      return 4;
  }
  return 3;
}

class FaultyWritableFile : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FaultyWritableFile(std::unique_ptr<rocksdb::FSWritableFile> target, FaultInjectionFs* fs,
                     std::string path)
      : FSWritableFileOwnerWrapper(std::move(target)),
        fs_(fs),
        path_(std::move(path)),
        kind_(FaultInjectionFs::KindOf(path_)) {}

  IOStatus Append(const Slice& data, const IOOptions& o, IODebugContext* dbg) override {
    IOStatus s = fs_->Check(Op::kWrite, kind_, path_);
    return s.ok() ? FSWritableFileOwnerWrapper::Append(data, o, dbg) : s;
  }
  IOStatus Append(const Slice& data, const IOOptions& o, const rocksdb::DataVerificationInfo& info,
                  IODebugContext* dbg) override {
    IOStatus s = fs_->Check(Op::kWrite, kind_, path_);
    return s.ok() ? FSWritableFileOwnerWrapper::Append(data, o, info, dbg) : s;
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& o,
                            IODebugContext* dbg) override {
    IOStatus s = fs_->Check(Op::kWrite, kind_, path_);
    return s.ok() ? FSWritableFileOwnerWrapper::PositionedAppend(data, offset, o, dbg) : s;
  }
  IOStatus PositionedAppend(const Slice& data, uint64_t offset, const IOOptions& o,
                            const rocksdb::DataVerificationInfo& info,
                            IODebugContext* dbg) override {
    IOStatus s = fs_->Check(Op::kWrite, kind_, path_);
    return s.ok() ? FSWritableFileOwnerWrapper::PositionedAppend(data, offset, o, info, dbg) : s;
  }
  IOStatus Sync(const IOOptions& o, IODebugContext* dbg) override {
    IOStatus s = fs_->Check(Op::kSync, kind_, path_);
    return s.ok() ? FSWritableFileOwnerWrapper::Sync(o, dbg) : s;
  }
  IOStatus Fsync(const IOOptions& o, IODebugContext* dbg) override {
    IOStatus s = fs_->Check(Op::kSync, kind_, path_);
    return s.ok() ? FSWritableFileOwnerWrapper::Fsync(o, dbg) : s;
  }
  IOStatus RangeSync(uint64_t offset, uint64_t nbytes, const IOOptions& o,
                     IODebugContext* dbg) override {
    IOStatus s = fs_->Check(Op::kSync, kind_, path_);
    return s.ok() ? FSWritableFileOwnerWrapper::RangeSync(offset, nbytes, o, dbg) : s;
  }

 private:
  FaultInjectionFs* fs_;
  const std::string path_;
  const FileKind kind_;
};

class FaultyRandomAccessFile : public rocksdb::FSRandomAccessFileOwnerWrapper {
 public:
  FaultyRandomAccessFile(std::unique_ptr<rocksdb::FSRandomAccessFile> target, FaultInjectionFs* fs,
                         std::string path)
      : FSRandomAccessFileOwnerWrapper(std::move(target)),
        fs_(fs),
        path_(std::move(path)),
        kind_(FaultInjectionFs::KindOf(path_)) {}

  IOStatus Read(uint64_t offset, size_t n, const IOOptions& o, Slice* result, char* scratch,
                IODebugContext* dbg) const override {
    IOStatus s = fs_->Check(Op::kRead, kind_, path_);
    return s.ok() ? FSRandomAccessFileOwnerWrapper::Read(offset, n, o, result, scratch, dbg) : s;
  }
  IOStatus MultiRead(rocksdb::FSReadRequest* reqs, size_t num_reqs, const IOOptions& o,
                     IODebugContext* dbg) override {
    IOStatus s = fs_->Check(Op::kRead, kind_, path_);
    if (s.ok()) return FSRandomAccessFileOwnerWrapper::MultiRead(reqs, num_reqs, o, dbg);
    for (size_t i = 0; i < num_reqs; ++i) reqs[i].status = s;
    return s;
  }
  // Goes through Read (the interface's default), so a fault reaches it too.
  IOStatus ReadAsync(rocksdb::FSReadRequest& req, const IOOptions& o,
                     std::function<void(const rocksdb::FSReadRequest&, void*)> cb, void* cb_arg,
                     void** io_handle, rocksdb::IOHandleDeleter* del_fn,
                     IODebugContext* dbg) override {
    return rocksdb::FSRandomAccessFile::ReadAsync(req, o, std::move(cb), cb_arg, io_handle, del_fn,
                                                  dbg);
  }

 private:
  FaultInjectionFs* fs_;
  const std::string path_;
  const FileKind kind_;
};

class FaultySequentialFile : public rocksdb::FSSequentialFileOwnerWrapper {
 public:
  FaultySequentialFile(std::unique_ptr<rocksdb::FSSequentialFile> target, FaultInjectionFs* fs,
                       std::string path)
      : FSSequentialFileOwnerWrapper(std::move(target)),
        fs_(fs),
        path_(std::move(path)),
        kind_(FaultInjectionFs::KindOf(path_)) {}

  IOStatus Read(size_t n, const IOOptions& o, Slice* result, char* scratch,
                IODebugContext* dbg) override {
    IOStatus s = fs_->Check(Op::kRead, kind_, path_);
    return s.ok() ? FSSequentialFileOwnerWrapper::Read(n, o, result, scratch, dbg) : s;
  }
  IOStatus PositionedRead(uint64_t offset, size_t n, const IOOptions& o, Slice* result,
                          char* scratch, IODebugContext* dbg) override {
    IOStatus s = fs_->Check(Op::kRead, kind_, path_);
    return s.ok() ? FSSequentialFileOwnerWrapper::PositionedRead(offset, n, o, result, scratch, dbg)
                  : s;
  }

 private:
  FaultInjectionFs* fs_;
  const std::string path_;
  const FileKind kind_;
};

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

FaultInjectionFs::FaultInjectionFs(std::shared_ptr<rocksdb::FileSystem> base)
    : FileSystemWrapper(std::move(base)) {}

FaultInjectionFs::FileKind FaultInjectionFs::KindOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (EndsWith(name, ".log")) return kWal;
  if (EndsWith(name, ".sst")) return kTable;
  if (EndsWith(name, ".blob")) return kBlob;
  if (name.rfind("MANIFEST-", 0) == 0) return kManifest;
  return kOther;
}

void FaultInjectionFs::Fail(Op op, unsigned kinds, uint64_t after) {
  std::lock_guard lock(mu_);
  arms_[static_cast<size_t>(op)] = Arm{true, kinds, after};
}

void FaultInjectionFs::Clear(Op op) {
  std::lock_guard lock(mu_);
  arms_[static_cast<size_t>(op)] = Arm{};
}

void FaultInjectionFs::ClearAll() {
  std::lock_guard lock(mu_);
  arms_.fill(Arm{});
}

uint64_t FaultInjectionFs::calls(Op op, unsigned kinds) const {
  std::lock_guard lock(mu_);
  uint64_t total = 0;
  for (FileKind kind : {kWal, kTable, kManifest, kOther, kBlob}) {
    if (kinds & kind) total += calls_[static_cast<size_t>(op)][KindIndex(kind)];
  }
  return total;
}

uint64_t FaultInjectionFs::injected(Op op) const {
  std::lock_guard lock(mu_);
  return injected_[static_cast<size_t>(op)];
}

void FaultInjectionFs::HoldSyncs() {
  std::lock_guard lock(mu_);
  hold_syncs_ = true;
}

void FaultInjectionFs::ReleaseSyncs() {
  {
    std::lock_guard lock(mu_);
    hold_syncs_ = false;
    sync_permits_ = 0;
  }
  held_cv_.notify_all();
}

void FaultInjectionFs::AllowOneSync() {
  {
    std::lock_guard lock(mu_);
    ++sync_permits_;
  }
  held_cv_.notify_all();
}

int FaultInjectionFs::held_syncs() const {
  std::lock_guard lock(mu_);
  return held_syncs_;
}

IOStatus FaultInjectionFs::Check(Op op, FileKind kind, const std::string& path) {
  std::unique_lock lock(mu_);
  const size_t o = static_cast<size_t>(op);
  ++calls_[o][KindIndex(kind)];
  if (op == Op::kSync && kind == kWal && hold_syncs_) {
    ++held_syncs_;
    held_cv_.wait(lock, [&] { return !hold_syncs_ || sync_permits_ > 0; });
    if (hold_syncs_) --sync_permits_;
    --held_syncs_;
  }
  Arm& arm = arms_[o];
  if (!arm.armed || (arm.kinds & kind) == 0) return IOStatus::OK();
  if (arm.remaining_successes > 0) {
    --arm.remaining_successes;
    return IOStatus::OK();
  }
  ++injected_[o];
  static constexpr const char* kNames[] = {"write", "sync", "read"};
  return IOStatus::IOError("injected " + std::string(kNames[o]) + " fault", path);
}

IOStatus FaultInjectionFs::NewSequentialFile(const std::string& f, const rocksdb::FileOptions& o,
                                             std::unique_ptr<rocksdb::FSSequentialFile>* r,
                                             IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSSequentialFile> file;
  IOStatus s = target()->NewSequentialFile(f, o, &file, dbg);
  if (s.ok()) r->reset(new FaultySequentialFile(std::move(file), this, f));
  return s;
}

IOStatus FaultInjectionFs::NewRandomAccessFile(const std::string& f, const rocksdb::FileOptions& o,
                                               std::unique_ptr<rocksdb::FSRandomAccessFile>* r,
                                               IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSRandomAccessFile> file;
  IOStatus s = target()->NewRandomAccessFile(f, o, &file, dbg);
  if (s.ok()) r->reset(new FaultyRandomAccessFile(std::move(file), this, f));
  return s;
}

IOStatus FaultInjectionFs::NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                           std::unique_ptr<rocksdb::FSWritableFile>* r,
                                           IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSWritableFile> file;
  IOStatus s = target()->NewWritableFile(f, o, &file, dbg);
  if (s.ok()) r->reset(new FaultyWritableFile(std::move(file), this, f));
  return s;
}

IOStatus FaultInjectionFs::ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                              std::unique_ptr<rocksdb::FSWritableFile>* r,
                                              IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSWritableFile> file;
  IOStatus s = target()->ReopenWritableFile(f, o, &file, dbg);
  if (s.ok()) r->reset(new FaultyWritableFile(std::move(file), this, f));
  return s;
}

IOStatus FaultInjectionFs::ReuseWritableFile(const std::string& f, const std::string& old,
                                             const rocksdb::FileOptions& o,
                                             std::unique_ptr<rocksdb::FSWritableFile>* r,
                                             IODebugContext* dbg) {
  std::unique_ptr<rocksdb::FSWritableFile> file;
  IOStatus s = target()->ReuseWritableFile(f, old, o, &file, dbg);
  if (s.ok()) r->reset(new FaultyWritableFile(std::move(file), this, f));
  return s;
}

}  // namespace sprawl::testing
