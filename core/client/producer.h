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
#include "core/storage/record_batch.h"
#include "core/util/thread_annotations.h"

namespace sprawl::client {

struct BatchOutcome;

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
  // A name (1 to 255 bytes) makes an idempotent producer *fenced*: it asks
  // the cluster for a new epoch before its first batch (INIT_PRODUCER), and
  // once another producer with the same name has started, this one's
  // batches fail with PRODUCER_FENCED, as does every later Send (Kafka's
  // transactional.id without transactions; docs/replication.md, "Fencing").
  // Empty: anonymous, never fenced. Ignored unless idempotent.
  std::string name;
  // A record not acknowledged within this fails with TIMEOUT.
  std::chrono::milliseconds delivery_timeout{120'000};
  std::chrono::milliseconds retry_backoff{20};
  std::chrono::milliseconds max_retry_backoff{1'000};
  storage::Compression compression = storage::Compression::kNone;
  // Runs once per batch when it is acknowledged or has failed, after the
  // callbacks of its records: a caller that only counts outcomes passes no
  // callback per record and reads them here. Same threads and rules as
  // the per-record callbacks.
  std::function<void(const BatchOutcome&)> on_batch;
};

struct PublishAck {
  std::string topic;
  uint32_t partition = 0;
  uint64_t offset = 0;
  bool duplicate = false;  // a retry found the record already stored
};

// What became of one batch: its records took offsets [base_offset,
// base_offset + records) when `status` is OK (with acks=none the offsets are
// not known and base_offset is 0).
struct BatchOutcome {
  std::string_view topic;
  uint32_t partition = 0;
  uint32_t records = 0;
  uint64_t base_offset = 0;
  bool duplicate = false;
  Status status;
};

using DeliveryCallback = std::function<void(Result<PublishAck>)>;

// An asynchronous, batching producer. Records go to a partition chosen by
// key (PartitionForKey), given explicitly, or, without either, to one
// partition until its batch is full or sent ("sticky"), so unkeyed records
// still form large batches. Each partition has one batch in flight, so
// retries (transparent, with backoff, honouring RETRY_AFTER hints) never
// reorder records. Thread-safe. Callbacks run on a producer or connection
// thread (with acks=none, a record sent from the caller's thread completes
// there, inside Send) and must not block; they may call Send.
//
// The throughput path (docs/architecture.md, "Publish"): Send encodes the record straight
// into its partition's open batch (one copy; no allocation per record once
// a partition's batch size is known), wakes the sender only when a batch
// fills or a linger timer must start, and completes records per batch. A
// record with nothing in flight on its partition and no reason to linger
// (SendSync, linger 0) is sent from the caller's thread, skipping the
// sender thread.
class Producer {
 public:
  // `client` must outlive the producer.
  Producer(Client& client, ProducerConfig config = {});
  // Close()s.
  ~Producer();

  // Queues a record; `done`, when given, runs once it is acknowledged or has
  // failed (an empty `done` costs nothing per record: count outcomes with
  // ProducerConfig::on_batch). Waits while the buffer is full (failing with
  // RESOURCE_EXHAUSTED after max_block). CLOSED after Close; NOT_FOUND for a
  // partition the topic does not have (both reported through `done`).
  void Send(const std::string& topic, std::optional<std::string_view> key, std::string_view value,
            const Headers& headers, DeliveryCallback done,
            std::optional<uint32_t> partition = std::nullopt);
  // Send and wait for the acknowledgement. Sent at once (no linger), from
  // the calling thread when its partition has nothing in flight.
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
  // A record kept whole while its topic's partition count is looked up.
  struct PendingRecord {
    std::optional<std::string> key;
    std::string value;
    Headers headers;
    int64_t timestamp_ms;
    DeliveryCallback done;
    std::optional<uint32_t> partition;
    size_t bytes;
    bool urgent;
  };
  // Records of one partition encoded as one batch: open while records are
  // appended, then closed (full, lingered long enough, or flushed) and sent.
  struct Batch {
    explicit Batch(storage::Compression compression) : builder(compression) {}
    storage::RecordBatchBuilder builder;
    std::string bytes;  // the encoded batch, built when first sent and kept for retries
    // Only the records that asked for a callback, by index in the batch.
    std::vector<std::pair<uint32_t, DeliveryCallback>> callbacks;
    uint32_t records = 0;
    size_t record_bytes = 0;     // what the records count against the buffer limit
    int64_t opened_nanos = 0;    // monotonic, when the first record came
    int64_t deadline_nanos = 0;  // the first record's delivery deadline
    int attempts = 0;
    int64_t retry_at_nanos = 0;  // 0: send now
    bool built = false;
    bool sent = false;  // awaiting a reply
  };
  struct PartitionState {
    // Front to back: the batch in flight (when in_flight), closed batches
    // waiting their turn, and last the open batch (when open).
    std::deque<Batch> batches;
    bool open = false;
    bool in_flight = false;
    bool urgent = false;          // a SendSync waits: send the open batch without lingering
    size_t last_batch_bytes = 0;  // the size to reserve for the next batch
    uint64_t producer_id = 0;
    uint32_t next_sequence = 0;
  };
  struct TopicState {
    uint32_t partitions = 0;               // 0: not known yet
    std::deque<PendingRecord> unassigned;  // waiting for the partition count
    uint32_t sticky = 0;
    std::vector<PartitionState> parts;  // by partition id, once known
  };
  // One publish request ready for the connection: batches of one topic.
  struct Outgoing {
    std::string topic;
    pb::PublishRequest body;
    std::vector<std::string> batches;
    std::vector<uint32_t> partitions;
  };
  // A completion to report once the lock is released.
  struct Completion {
    std::string topic;
    uint32_t partition = 0;
    Batch batch;
    Status status;
    uint64_t base_offset = 0;
    bool duplicate = false;
  };

  void Run();
  void ResolveMetadata() REQUIRES(mu_);
  TopicState& FindTopic(const std::string& name) REQUIRES(mu_);
  // Appends a record to its partition's open batch (the record's one
  // copy), closing the batch when full; moves `done` in. False when an
  // explicit partition is out of range (then nothing changed).
  bool Append(TopicState& topic, std::optional<std::string_view> key, std::string_view value,
              const Headers& headers, int64_t timestamp_ms, DeliveryCallback& done,
              std::optional<uint32_t> partition, size_t bytes, uint32_t* chosen) REQUIRES(mu_);
  void CloseOpenBatch(TopicState& topic, uint32_t id) REQUIRES(mu_);
  // Whether the partition has a batch to send (or resend) now.
  bool Ready(const PartitionState& p, int64_t now) const REQUIRES(mu_);
  // Takes the partition's front batch (closed) into flight, encoding its
  // header on the first attempt, and adds it to `request`; false, with the
  // batch moved to `failed`, when it cannot be sent.
  bool Launch(const std::string& name, uint32_t id, PartitionState& part, int64_t now,
              Outgoing& request, std::vector<Completion>& failed) REQUIRES(mu_);
  void SendReady(int64_t now) REQUIRES(mu_);
  // The one place a publish request meets the connection (with acks=none it
  // is sent without a reply and completed here). Called without the lock.
  void Transmit(Outgoing request);
  void OnReply(const std::string& topic, std::vector<uint32_t> partitions,
               Result<transport::Reply> reply);
  // Runs the callbacks of completed batches, then counts their records
  // complete (and the request finished). Called without the lock.
  void Complete(std::vector<Completion>& done, bool request_finished);
  int64_t NextWakeNanos(int64_t now) const REQUIRES(mu_);
  void WakeSender(int64_t due_nanos) REQUIRES(mu_);
  void SendImpl(const std::string& topic, std::optional<std::string_view> key,
                std::string_view value, const Headers& headers, DeliveryCallback done,
                std::optional<uint32_t> partition, bool urgent);
  uint64_t NewProducerId() REQUIRES(mu_);
  bool Named() const { return config_.idempotent && !config_.name.empty(); }
  // A named producer without its epoch yet: its batches wait (until their
  // delivery deadline) for ResolveEpoch.
  bool AwaitsEpoch() const REQUIRES(mu_) { return Named() && epoch_ == 0 && fatal_.ok(); }
  // Asks the cluster for this named producer's epoch (a round trip without
  // the lock); a retriable failure is retried after a backoff, another one
  // fails every record (fatal_).
  void ResolveEpoch() REQUIRES(mu_);

  Client& client_;
  const ProducerConfig config_;
  Mutex mu_;
  std::condition_variable cv_;        // the sender thread waits here
  std::condition_variable space_cv_;  // Send waits for buffer space; Flush for completion
  std::map<std::string, TopicState, std::less<>> topics_ GUARDED_BY(mu_);
  // The topic of the last Send: most callers publish to one topic, so the
  // map is searched only when it changes.
  TopicState* last_topic_ GUARDED_BY(mu_) = nullptr;
  const std::string* last_topic_name_ GUARDED_BY(mu_) = nullptr;
  size_t buffered_bytes_ GUARDED_BY(mu_) = 0;
  uint64_t sent_records_ GUARDED_BY(mu_) = 0;       // records accepted by Send
  uint64_t completed_records_ GUARDED_BY(mu_) = 0;  // records whose callback ran
  // Publish requests whose OnReply has not finished.
  size_t requests_in_flight_ GUARDED_BY(mu_) = 0;
  // When the sender thread is waiting: the time it wakes by itself (max:
  // only when notified). 0 while it runs; then it needs no notification, as
  // it looks at every partition before it waits again.
  int64_t sender_sleeps_until_ GUARDED_BY(mu_) = 0;
  bool flush_requested_ GUARDED_BY(mu_) = false;
  bool closing_ GUARDED_BY(mu_) = false;
  bool stopped_ GUARDED_BY(mu_) = false;
  std::mt19937_64 rng_ GUARDED_BY(mu_);
  // Named producers: the epoch the cluster gave (0: not yet), when to ask
  // again after a failure, and the counter in the low bits of each new id.
  uint16_t epoch_ GUARDED_BY(mu_) = 0;
  int64_t epoch_retry_at_ GUARDED_BY(mu_) = 0;
  uint16_t session_ GUARDED_BY(mu_) = 0;
  // Why this producer can publish no more (fenced, or a name the cluster
  // refused): every batch and Send fails with it.
  Status fatal_ GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace sprawl::client
