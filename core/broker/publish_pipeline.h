#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/broker/broker_metrics.h"
#include "core/broker/broker_options.h"
#include "core/broker/producer_table.h"
#include "core/broker/sync_waiter.h"
#include "core/broker/topic_registry.h"
#include "core/protocol/messages.h"
#include "core/storage/store.h"
#include "core/util/clock.h"

namespace sprawl::broker {

// The publish path of every partition, in three steps that replication will
// keep: a batch is proposed (checked against its producer's sequence and
// appended to the log), committed (on one node: once durable under the
// node's fsync policy; the commit index then moves past it) and
// acknowledged (ACK_NONE at once, ACK_LEADER and ACK_ALL when the commit
// index passes the batch, ACK_ALL after a sync too under a lazy fsync
// policy). Producer sequences count from committed batches only; a retry of a
// batch in flight waits for that batch's outcome, and a batch whose append
// failed leaves no trace. Runs on the node's event loop; storage completions
// come back through `post`.
class PublishPipeline {
 public:
  using Post = std::function<void(std::function<void()>)>;
  // Tells the broker that the commit index of (topic, partition) moved.
  using CommitListener = std::function<void(const std::string& topic, uint32_t partition)>;
  using AppendDone = std::function<void(Result<storage::AppendInfo>)>;
  static constexpr uint64_t kSingleNodeTerm = 1;

  // `store`, `clock` and `metrics` must outlive the pipeline.
  PublishPipeline(storage::Store& store, const Clock& clock, BrokerMetrics& metrics, Post post,
                  const BrokerOptions& options, CommitListener on_commit);

  // Starts serving a partition: on one node everything recovered (checksummed
  // when the store opened) is durable, so the commit index moves to the end
  // of the log; producer state is rebuilt from the committed tail. Does
  // nothing for a partition already served.
  Status AddPartition(const std::string& topic, uint32_t partition,
                      std::shared_ptr<storage::PartitionLog> log);
  // Stops serving a deleted topic: publishes waiting for its commits fail
  // with NOT_FOUND, appends still in flight are ignored when they complete.
  void DropTopic(const std::string& topic);

  // Appends each batch (batches[i] for request.batches(i)) to `topic` and
  // calls `done` once every batch has its result at the requested ack level.
  // The request was checked (topic, batch count) by the caller.
  void Publish(const Topic& topic, const protocol::pb::PublishRequest& request,
               std::vector<std::string> batches,
               std::function<void(Result<protocol::pb::PublishResponse>)> done);

  // Appends a batch built by the broker itself (dead letters) under the same
  // backpressure; `done` gets its offsets once committed, or the error
  // (RETRY_AFTER when the node is full).
  void Append(const Topic& topic, uint32_t partition, std::string batch, AppendDone done);

  // Whether publishes are waiting for their acks (shutdown waits for none).
  bool InProgress() const { return publishes_in_progress_ > 0 || appends_in_flight_ > 0; }

 private:
  struct PublishCall;
  struct Ticket;
  // A batch appended and not yet committed, and who waits for its outcome:
  // on the local append (ACK_NONE and ACK_LEADER) or on its commit (ACK_ALL,
  // retries, dead letters).
  struct Proposal {
    storage::AppendInfo info;
    std::vector<AppendDone> on_append;
    std::vector<AppendDone> on_commit;
  };
  struct Partition {
    std::string topic;
    uint32_t partition = 0;
    std::shared_ptr<storage::PartitionLog> log;
    ProducerTable producers;
    std::map<uint64_t, Proposal> proposals;  // by end offset (last_offset + 1)
    bool dropped = false;
  };
  using PartitionId = std::pair<std::string, uint32_t>;

  void PublishOne(const std::shared_ptr<PublishCall>& call, size_t index, const Topic& topic,
                  uint32_t partition, std::string batch);
  // Proposes `batch`; `done` runs once it is appended locally (or committed,
  // with `wait_for_commit`), or failed.
  void Propose(const std::shared_ptr<Partition>& part, std::string batch,
               storage::ProducerStamp producer, uint32_t count, bool wait_for_commit,
               AppendDone done);
  void OnAppended(const std::shared_ptr<Partition>& part, const std::shared_ptr<Ticket>& ticket,
                  Result<storage::AppendInfo> info);
  // Moves the commit index to `commit_index` and resolves what it covers.
  void Commit(Partition& part, uint64_t commit_index);
  void FinishBatch(const std::shared_ptr<PublishCall>& call);
  // RETRY_AFTER when `bytes` more would pass the bound on bytes in flight.
  Status Admit(uint64_t bytes) const;
  uint32_t RetryAfterHintMs() const;
  Status RebuildProducers(Partition& part);

  const Clock& clock_;
  BrokerMetrics& metrics_;
  Post post_;
  BrokerOptions options_;
  CommitListener on_commit_;
  SyncWaiter sync_waiter_;
  bool sync_on_all_;  // acks=all needs an extra sync under this fsync policy
  uint64_t pending_publish_bytes_ = 0;
  size_t publishes_in_progress_ = 0;
  size_t appends_in_flight_ = 0;
  std::map<PartitionId, std::shared_ptr<Partition>> partitions_;
};

}  // namespace sprawl::broker
