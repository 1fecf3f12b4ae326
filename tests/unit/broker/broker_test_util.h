#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/storage/record_batch.h"

namespace sprawl::broker::testing {

// Stands in for the node's event loop: posted functions queue up until the
// test runs them on its own thread, so the order of events is the test's.
class PostQueue {
 public:
  std::function<void(std::function<void()>)> Poster() {
    return [this](std::function<void()> fn) {
      {
        std::lock_guard lock(mu_);
        queue_.push_back(std::move(fn));
      }
      cv_.notify_all();
    };
  }

  // Runs queued functions until `done()` holds; fails after 10 s.
  void RunUntil(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mu_);
        if (!cv_.wait_until(lock, deadline, [this] { return !queue_.empty(); })) {
          ADD_FAILURE() << "timed out waiting for posted work";
          return;
        }
        fn = std::move(queue_.front());
        queue_.pop_front();
      }
      fn();
    }
  }

  // Runs whatever is queued now, without waiting.
  void RunReady() {
    while (true) {
      std::function<void()> fn;
      {
        std::lock_guard lock(mu_);
        if (queue_.empty()) return;
        fn = std::move(queue_.front());
        queue_.pop_front();
      }
      fn();
    }
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
};

// A batch of `n` records "<prefix>-<i>" keyed "k<i>", optionally stamped by a producer.
inline std::string Batch(int n, const std::string& prefix, storage::ProducerStamp producer = {},
                         int64_t timestamp_ms = 1'700'000'000'000) {
  storage::RecordBatchBuilder builder(storage::Compression::kNone, producer);
  std::vector<std::string> values;
  for (int i = 0; i < n; ++i) values.push_back(prefix + "-" + std::to_string(i));
  for (int i = 0; i < n; ++i) {
    std::string key = "k" + std::to_string(i);
    builder.Add(key, values[i], timestamp_ms);
  }
  auto batch = builder.Build();
  EXPECT_TRUE(batch.ok());
  return batch.ok() ? std::move(*batch) : std::string();
}

// A scratch directory removed at the end of the test.
class ScratchDir {
 public:
  ScratchDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("sprawl-broker-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string Sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace sprawl::broker::testing
