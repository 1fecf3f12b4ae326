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
#include "core/broker/replication_hook.h"
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

  // The latest epoch the cluster's metadata gave the named producers of a
  // family (0: none known); a batch under an older one is refused before it
  // is proposed. Unset: only the partition's own producer table fences.
  void SetLatestProducerEpoch(std::function<uint16_t(uint64_t family)> latest) {
    latest_epoch_ = std::move(latest);
  }

  // Appends a batch built by the broker itself (dead letters) under the same
  // backpressure; `done` gets its offsets once committed, or the error
  // (RETRY_AFTER when the node is full).
  void Append(const Topic& topic, uint32_t partition, std::string batch, AppendDone done);

  // Whether publishes are waiting for their acks (shutdown waits for none).
  bool InProgress() const { return publishes_in_progress_ > 0 || appends_in_flight_ > 0; }

  // Replicated partitions (docs/replication.md). With a hook, each batch's
  // partition is routed: a follower or a node without a replica refuses it
  // with NOT_LEADER; the leader proposes it to the partition's Raft group,
  // and every replica appends it when it commits (ApplyReplicated). Without
  // a hook, or for a partition the hook calls local, batches go straight to
  // the log as on one node. `hook` must outlive the pipeline.
  void SetReplicationHook(ReplicationHook* hook) { replication_ = hook; }
  // Serves (topic, partition) as a Raft group's state machine whose entries
  // up to the one that left the log at `applied_end` are applied; batches
  // the log holds past it were appended by entries that come again (a crash
  // before their applied mark was written) and are matched, not appended
  // twice. Producer state is rebuilt up to `applied_end`.
  Status MarkReplicated(const std::string& topic, uint32_t partition, uint64_t applied_end);
  // Applies the committed entry `index` of term `term` (an encoded batch):
  // idempotence is checked here, the same way on every replica, then the
  // batch is appended and the commit index moves past it; whoever proposed
  // it on this node is answered. Returns the offset after the last applied
  // batch (the applied mark to persist), or the storage error that stops the
  // partition.
  Result<uint64_t> ApplyReplicated(const std::string& topic, uint32_t partition, uint64_t index,
                                   uint64_t term, std::string_view batch);
  // A replica copying the records its group's leader covers by an image
  // (replica::RecordCatchUp) whose log ends before `start`, the first record
  // its source still retains: everything it holds is dropped and its log
  // continues at `start`, with no producer state (the records that held it
  // are gone everywhere). INVALID_ARGUMENT unless `start` is past the applied
  // end. Returns the new applied end. One synced write, on the caller's
  // thread: rare (a replica back after retention ran past it, or a new one).
  Result<uint64_t> RestartReplicatedAt(const std::string& topic, uint32_t partition,
                                       uint64_t start);
  // This node no longer leads the partition: publishes waiting for entries
  // it proposed fail with `why` (retriable NOT_LEADER: a retry from an
  // idempotent producer is deduplicated if the entry commits after all).
  void FailReplicatedProposals(const std::string& topic, uint32_t partition, const Status& why);

 private:
  struct PublishCall;
  struct Ticket;
  // PRODUCER_FENCED when the metadata knows a newer epoch of the batch's
  // named producer.
  Status CheckProducerEpoch(const storage::ProducerStamp& producer) const;
  // A batch appended and not yet committed, and who waits for its outcome:
  // on the local append (ACK_NONE and ACK_LEADER) or on its commit (ACK_ALL,
  // retries, dead letters).
  struct Proposal {
    storage::AppendInfo info;
    std::vector<AppendDone> on_append;
    std::vector<AppendDone> on_commit;
  };
  // Who waits for a batch proposed to the partition's Raft group.
  using ReplicatedDone = std::function<void(bool duplicate, Result<storage::AppendInfo>)>;
  struct ReplicatedProposal {
    uint64_t term = 0;
    uint64_t bytes = 0;
    ReplicatedDone done;
  };
  struct Partition {
    std::string topic;
    uint32_t partition = 0;
    std::shared_ptr<storage::PartitionLog> log;
    ProducerTable producers;
    std::map<uint64_t, Proposal> proposals;  // by end offset (last_offset + 1)
    bool dropped = false;
    // A Raft group's state machine: the offset the next applied batch takes
    // (below the log's end only while re-applying after a restart).
    bool replicated = false;
    uint64_t apply_end = 0;
    Status failed;                                          // a local append failed
    std::map<uint64_t, ReplicatedProposal> raft_proposals;  // by Raft index
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
  Status RebuildProducers(Partition& part, uint64_t end);
  // Where (topic, partition) is served: local without a hook.
  PartitionRoute RouteOf(const Topic& topic, uint32_t partition) const;
  // NOT_LEADER, with the route's hint, unless this node may append to it.
  static Status CheckLeads(const Topic& topic, uint32_t partition, const PartitionRoute& route);
  // Proposes `batch` to the partition's Raft group; `done` runs when the
  // entry applies here (or is lost).
  void ProposeReplicated(const std::shared_ptr<Partition>& part, std::string batch,
                         ReplicatedDone done);
  void ResolveReplicated(Partition& part, uint64_t index, uint64_t term,
                         const Result<storage::AppendInfo>& outcome, bool duplicate);

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
  ReplicationHook* replication_ = nullptr;
  std::function<uint16_t(uint64_t family)> latest_epoch_;
};

// PRODUCER_FENCED for a batch of `producer` under an epoch older than `latest_epoch`.
Status FencedProducer(const storage::ProducerStamp& producer, uint16_t latest_epoch);

}  // namespace sprawl::broker
