#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/client/client.h"
#include "core/client/message.h"
#include "core/util/result.h"
#include "core/util/thread_annotations.h"

namespace sprawl::client {

// Where an offset read starts in each partition.
struct StartPosition {
  enum class Kind { kEarliest, kLatest, kOffset, kTimestamp };
  Kind kind = Kind::kEarliest;
  uint64_t offset = 0;       // kOffset
  int64_t timestamp_ms = 0;  // kTimestamp: the first record at or after it

  // "earliest", "latest", a decimal offset or "@<timestamp ms>".
  // INVALID_ARGUMENT naming the accepted forms otherwise.
  static Result<StartPosition> Parse(const std::string& text);
};

struct OffsetConsumerOptions {
  // The most bytes one fetch returns (at least one batch, so a larger message
  // still comes). One fetch is in flight at a time, so this bounds what the
  // node sends ahead of the application. 0 = protocol::kDefaultMaxInFlightBytes
  // (8 MiB); the node caps it at its max_fetch_bytes (16 MiB).
  uint32_t max_fetch_bytes = 0;
};

// Reads a topic by offset (no group, no acks): the given partitions, or all
// of them, from a start position, in offset order within each partition.
// One partition long-polls the node; several take turns with short polls.
// Not thread-safe: one reader per thread, except Close, which any thread may
// call to end a Receive that waits.
class OffsetConsumer {
 public:
  // Resolves each partition's start offset. NOT_FOUND for a missing topic
  // or partition, OFFSET_OUT_OF_RANGE for an offset outside the log.
  static Result<std::unique_ptr<OffsetConsumer>> Open(Client& client, const std::string& topic,
                                                      std::vector<uint32_t> partitions,
                                                      const StartPosition& start,
                                                      const OffsetConsumerOptions& options = {});

  // The next message, or nullopt when none came within `timeout`. CLOSED
  // after Close.
  Result<std::optional<Message>> Receive(std::chrono::milliseconds timeout);

  // Makes Receive return CLOSED from now on and wakes one that waits for the
  // node, at once. Thread-safe, idempotent, does not block.
  void Close();

  // The offset the next read of `partition` starts at.
  uint64_t position(uint32_t partition) const;

 private:
  // What Close and a waiting fetch share. A fetch's reply callback may run
  // after the consumer is gone, so it holds this (and its reply slot) by
  // shared_ptr.
  struct Signal {
    Mutex mu;
    std::condition_variable cv;
    bool closed GUARDED_BY(mu) = false;
  };

  OffsetConsumer(Client& client, std::string topic, uint32_t max_fetch_bytes)
      : client_(client), topic_(std::move(topic)), max_fetch_bytes_(max_fetch_bytes) {}
  // One fetch round over the partitions, each waiting up to `wait`.
  Status FetchRound(std::chrono::milliseconds wait);
  // Fetches the partitions in turn, each waiting up to `wait`, until one has records.
  Status FetchPass(std::chrono::milliseconds wait);
  // One fetch of `partition` from `offset`, waiting up to `wait` for records;
  // CLOSED as soon as Close is called.
  Result<FetchResult> Fetch(uint32_t partition, uint64_t offset, std::chrono::milliseconds wait);

  Client& client_;
  const std::string topic_;
  const uint32_t max_fetch_bytes_;
  std::vector<uint32_t> partitions_;
  std::vector<uint64_t> next_;
  size_t turn_ = 0;  // the partition fetched first next round, for fairness
  std::deque<Message> ready_;
  const std::shared_ptr<Signal> signal_ = std::make_shared<Signal>();
};

}  // namespace sprawl::client
