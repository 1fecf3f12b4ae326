#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/client/client.h"
#include "core/storage/compression.h"
#include "core/util/thread_annotations.h"

namespace sprawl::client {

struct ProducerConfig {
  // How long a partition's batch waits for more records before it is sent.
  std::chrono::milliseconds linger{5};
  // A partition's batch is sent once its records reach this many bytes.
  size_t batch_bytes = 256u << 10;
  // Records buffered and not yet acknowledged; Send waits beyond it.
  size_t max_buffered_bytes = 64u << 20;
  // How long Send waits for buffer space before the record fails with
  // RESOURCE_EXHAUSTED (retriable); 0 = never wait, for callers that must not
  // block (an event loop). Kafka's max.block.ms.
  std::chrono::milliseconds max_block{120'000};
  // `all`, every binding's default too (docs/configuration.md says why).
  pb::AckLevel acks = pb::ACK_ALL;
  // Stamps batches with a producer id and sequence so retries are stored once.
  bool idempotent = true;
  // A record not acknowledged within this fails with TIMEOUT.
  std::chrono::milliseconds delivery_timeout{120'000};
  std::chrono::milliseconds retry_backoff{20};
  std::chrono::milliseconds max_retry_backoff{1'000};
  storage::Compression compression = storage::Compression::kNone;
};

struct PublishAck {
  std::string topic;
  uint32_t partition = 0;
  uint64_t offset = 0;
  bool duplicate = false;  // a retry found the record already stored
};

using DeliveryCallback = std::function<void(Result<PublishAck>)>;

// An asynchronous, batching producer. Records go to a partition chosen by
// key (PartitionForKey), given explicitly, or, without either, to one
// partition until its batch is sent ("sticky"), so unkeyed records still
// form large batches. Each partition has one batch in flight, so retries
// (transparent, with backoff, honouring RETRY_AFTER hints) never reorder
// records. Thread-safe. Callbacks run on a producer thread and must not
// block; they may call Send.
class Producer {
 public:
  // `client` must outlive the producer.
  Producer(Client& client, ProducerConfig config = {});
  // Close()s.
  ~Producer();

  // Queues a record; `done` runs once it is acknowledged or has failed.
  // Waits while the buffer is full (failing with RESOURCE_EXHAUSTED after
  // max_block). CLOSED after Close.
  void Send(const std::string& topic, std::optional<std::string_view> key, std::string_view value,
            const Headers& headers, DeliveryCallback done,
            std::optional<uint32_t> partition = std::nullopt);
  // Send and wait for the acknowledgement.
  Result<PublishAck> SendSync(const std::string& topic, std::optional<std::string_view> key,
                              std::string_view value, const Headers& headers = {},
                              std::optional<uint32_t> partition = std::nullopt);

  // Sends everything buffered now and waits until every record sent before
  // the call is acknowledged or failed. TIMEOUT if that takes longer.
  Status Flush(std::chrono::milliseconds timeout = std::chrono::milliseconds(60'000));

  // Flushes (up to the delivery timeout), then fails what is left with
  // CLOSED and stops. Idempotent.
  void Close() { Close(config_.delivery_timeout); }
  // The same, waiting at most `grace` for records to complete. Requests
  // already sent are still waited for until they are answered or time out:
  // close the connection first to end them at once.
  void Close(std::chrono::milliseconds grace);

 private:
  struct PendingRecord {
    std::optional<std::string> key;
    std::string value;
    Headers headers;
    int64_t timestamp_ms;
    DeliveryCallback done;
    std::optional<uint32_t> partition;
    int64_t deadline_nanos;
    size_t bytes;
  };
  struct InFlight {
    std::string bytes;
    std::vector<DeliveryCallback> callbacks;
    int64_t deadline_nanos;  // the earliest delivery deadline of its records
    int attempts = 0;
    int64_t retry_at_nanos = 0;  // 0: send now
    bool sent = false;           // awaiting a reply
    size_t record_bytes = 0;
  };
  struct PartitionState {
    std::deque<PendingRecord> records;
    size_t bytes = 0;
    int64_t opened_nanos = 0;
    std::optional<InFlight> in_flight;
    uint64_t producer_id = 0;
    uint32_t next_sequence = 0;
  };
  struct TopicState {
    uint32_t partitions = 0;  // 0: not known yet
    Status metadata_error;
    std::deque<PendingRecord> unassigned;  // waiting for the partition count
    uint32_t sticky = 0;
    std::map<uint32_t, PartitionState> parts;
  };

  void Run();
  void ResolveMetadata() REQUIRES(mu_);
  void Assign(TopicState& topic, PendingRecord record, int64_t now);
  bool Ready(const PartitionState& p, int64_t now) const REQUIRES(mu_);
  void SealBatch(PartitionState& p);
  void SendReady(int64_t now) REQUIRES(mu_);
  void OnReply(const std::string& topic, std::vector<uint32_t> partitions,
               Result<transport::Reply> reply);
  int64_t NextWakeNanos(int64_t now) const REQUIRES(mu_);
  uint64_t NewProducerId();

  Client& client_;
  const ProducerConfig config_;
  Mutex mu_;
  std::condition_variable cv_;        // the sender thread waits here
  std::condition_variable space_cv_;  // Send waits for buffer space; Flush for completion
  std::map<std::string, TopicState> topics_ GUARDED_BY(mu_);
  size_t buffered_bytes_ GUARDED_BY(mu_) = 0;
  uint64_t sent_records_ GUARDED_BY(mu_) = 0;       // records accepted by Send
  uint64_t completed_records_ GUARDED_BY(mu_) = 0;  // records whose callback ran
  // Publish requests whose OnReply has not finished.
  size_t requests_in_flight_ GUARDED_BY(mu_) = 0;
  bool flush_requested_ GUARDED_BY(mu_) = false;
  bool closing_ GUARDED_BY(mu_) = false;
  bool stopped_ GUARDED_BY(mu_) = false;
  std::mt19937_64 rng_;
  std::thread thread_;
};

}  // namespace sprawl::client
