#include "core/util/log_delivery.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "core/util/logging.h"

namespace sprawl::log {
namespace {

TEST(ComponentOfTest, IsTheDirectoryUnderCore) {
  EXPECT_EQ(ComponentOf("/src/sprawl/core/broker/broker.cc"), "broker");
  EXPECT_EQ(ComponentOf("../../core/storage/store.cc"), "storage");
  EXPECT_EQ(ComponentOf("core/node/node.cc"), "node");
  EXPECT_EQ(ComponentOf("/home/core/x/core/transport/frame.cc"), "transport");
  EXPECT_EQ(ComponentOf("/src/server/sprawl_server_main.cc"), "server");
  EXPECT_EQ(ComponentOf("tests/unit/util/log_delivery_test.cc"), "sprawl");
  EXPECT_EQ(ComponentOf("/x/hardcore/broker/y.cc"), "sprawl");  // not a path segment
  EXPECT_EQ(ComponentOf(""), "sprawl");
}

// Restores the process default (stderr, info) after each test.
class SinkTest : public testing::Test {
 protected:
  void TearDown() override { Configure(LogOptions{}); }
};

TEST_F(SinkTest, SinkGetsEnabledRecordsWithComponentNodeAndFields) {
  std::vector<std::string> seen;
  LogOptions options;
  options.level = Level::kInfo;
  options.node_id = "n-default";
  options.sink = [&seen](const Record& r) {
    std::string line = std::string(LevelName(r.level)) + " " + std::string(r.component) + " " +
                       std::string(r.message) + " node=" + std::string(r.node_id);
    for (const Field& f : r.fields) line += " " + std::string(f.key) + "=" + f.value;
    seen.push_back(line);
  };
  Configure(options);
  Debug("filtered out");
  WriteFrom("app", Level::kWarn, "from the app", {{"topic", "t"}, {"partition", 3}});
  {
    NodeScope scope("n-scoped");
    Info("in a node's scope");
  }
  Info("after the scope");
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0], "warn app from the app node=n-default topic=t partition=3");
  EXPECT_EQ(seen[1], "info sprawl in a node's scope node=n-scoped");
  EXPECT_EQ(seen[2], "info sprawl after the scope node=n-default");
}

TEST_F(SinkTest, LevelOffWritesNothing) {
  int calls = 0;
  LogOptions options;
  options.sink = [&calls](const Record&) { ++calls; };
  Configure(options);
  SetLevel(Level::kOff);
  EXPECT_EQ(CurrentLevel(), Level::kOff);
  Error("not written");
  SetLevel(Level::kError);
  Error("written");
  EXPECT_EQ(calls, 1);
}

Record MakeRecord(std::string_view message) {
  return Record{.level = Level::kWarn,
                .component = "app",
                .message = message,
                .node_id = "n1",
                .fields = {},
                .time = std::chrono::system_clock::now()};
}

TEST(RecordQueueTest, DeliversInOrderOnItsOwnThread) {
  std::atomic<uint64_t> dropped{0};
  std::vector<std::string> seen;
  std::thread::id delivery_thread;
  {
    RecordQueue queue(
        64,
        [&](const OwnedRecord& r) {
          delivery_thread = std::this_thread::get_id();
          seen.push_back(r.message + "@" + r.fields.at(0).first + "=" + r.fields.at(0).second);
        },
        dropped);
    for (int i = 0; i < 10; ++i) queue.Push(MakeRecord("m" + std::to_string(i)));
  }  // the destructor delivers what is queued
  ASSERT_EQ(seen.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(seen[i], "m" + std::to_string(i) + "@node=n1");
  EXPECT_NE(delivery_thread, std::this_thread::get_id());
  EXPECT_EQ(dropped.load(), 0u);
}

TEST(RecordQueueTest, ABlockedCallbackFillsTheQueueAndDropsAreCounted) {
  std::atomic<uint64_t> dropped{0};
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;
  bool released = false;
  int delivered = 0;
  {
    RecordQueue queue(
        4,
        [&](const OwnedRecord&) {
          std::unique_lock lock(mu);
          entered = true;
          cv.notify_all();
          cv.wait(lock, [&] { return released; });
          ++delivered;
        },
        dropped);
    queue.Push(MakeRecord("first"));
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return entered; });
    }
    for (int i = 0; i < 100; ++i) queue.Push(MakeRecord("more"));  // never waits
    EXPECT_EQ(dropped.load(), 96u);
    {
      std::lock_guard lock(mu);
      released = true;
    }
    cv.notify_all();
  }
  EXPECT_EQ(delivered, 5);
}

TEST(RecordQueueTest, AThrowingCallbackDoesNotStopDelivery) {
  std::atomic<uint64_t> dropped{0};
  int calls = 0;
  {
    RecordQueue queue(
        16,
        [&calls](const OwnedRecord&) {
          ++calls;
          throw std::runtime_error("broken");
        },
        dropped);
    for (int i = 0; i < 3; ++i) queue.Push(MakeRecord("m"));
  }
  EXPECT_EQ(calls, 3);
}

}  // namespace
}  // namespace sprawl::log
