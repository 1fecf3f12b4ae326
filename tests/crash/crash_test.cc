// Kills a real appending process with SIGKILL at random moments and checks on
// reopen that every acknowledged record is intact and nothing corrupt is
// served. fsync=always: an acknowledged append is on stable storage.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "../unit/storage/storage_test_util.h"
#include "core/storage/store.h"
#include "crash_workload.h"

namespace sprawl::storage {
namespace {

using testing::TempDir;

// Starts the appender in a new process (fork + exec: the parent's threads,
// RocksDB's among them, are not carried into the child).
pid_t StartAppender(const std::string& dir, int fd, uint32_t seed) {
  const std::string fd_arg = std::to_string(fd);
  const std::string seed_arg = std::to_string(seed);
  const pid_t child = fork();
  if (child == 0) {
    execl(SPRAWL_CRASH_APPENDER, SPRAWL_CRASH_APPENDER, dir.c_str(), fd_arg.c_str(),
          seed_arg.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return child;
}

TEST(CrashTest, AcknowledgedAppendsSurviveSigkill) {
  TempDir dir;
  const std::string data = dir.Sub("data");
  const uint32_t seed =
      static_cast<uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  constexpr int kRounds = 6;
  int64_t max_acked = -1;

  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);  // only the write end goes to the child
    const pid_t child = StartAppender(data, fds[1], seed + round);
    ASSERT_GT(child, 0);
    close(fds[1]);
    // Let it make a random amount of progress, then kill it at a random
    // moment inside the next few appends.
    const int64_t kill_after_acks = 1 + static_cast<int64_t>(rng() % 400);
    std::mutex mu;
    std::condition_variable progressed;
    int64_t acks_this_round = 0;
    std::thread reader([&] {
      uint64_t acked;
      while (read(fds[0], &acked, sizeof(acked)) == sizeof(acked)) {
        std::lock_guard lock(mu);
        max_acked = std::max<int64_t>(max_acked, static_cast<int64_t>(acked));
        ++acks_this_round;
        progressed.notify_all();
      }
    });
    bool made_progress = false;
    {
      std::unique_lock lock(mu);
      made_progress = progressed.wait_for(lock, std::chrono::seconds(60),
                                          [&] { return acks_this_round >= kill_after_acks; });
    }
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    reader.join();  // the pipe closes with the child
    close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
    ASSERT_TRUE(made_progress) << "round " << round << ": the appender stopped acknowledging";

    metrics::Registry registry;
    auto store = Store::Open(crash::Options(data), registry);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto log = (*store)->GetPartition(crash::kPartition);
    ASSERT_TRUE(log.ok());
    ASSERT_GE(static_cast<int64_t>((*log)->NextOffset()), max_acked + 1)
        << "round " << round << ": acknowledged records were lost";
    std::printf("round %d: %lld acks, last acked offset %lld, recovered next offset %llu\n", round,
                static_cast<long long>(acks_this_round), static_cast<long long>(max_acked),
                static_cast<unsigned long long>((*log)->NextOffset()));
    // Every record present is the one written at its offset, in order.
    uint64_t offset = 0;
    while (offset < (*log)->NextOffset()) {
      auto r = (*log)->Read(offset, {});
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      for (const auto& batch : r->batches) {
        auto view = RecordBatchView::Parse(*batch.bytes);
        ASSERT_TRUE(view.ok());
        ASSERT_TRUE(view->Validate().ok());
        auto it = view->Records();
        RecordView rec;
        while (it->Next(&rec)) {
          ASSERT_EQ(rec.offset, offset);
          ASSERT_EQ(rec.value, crash::ValueFor(offset));
          ++offset;
        }
      }
    }
  }
}

}  // namespace
}  // namespace sprawl::storage
