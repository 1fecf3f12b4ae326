#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/protocol/message_type.h"
#include "core/transport/client_connection.h"
#include "core/util/result.h"

namespace sprawl::replica {

// Copies a partition's committed records [from, to) from another replica's
// client port into this one, batch by batch, with FETCH requests: how a
// replica whose leader's Raft log no longer holds the entries that carried
// them (it was down while the group compacted, or it is new) gets them
// before it installs the leader's image (docs/replication.md, "Catching up
// from records"). One request is in flight at a time, so a catch-up costs the
// source one fetch per round trip. Loop thread only: replies come back
// through `post`.
class RecordCatchUp {
 public:
  using Post = std::function<void(std::function<void()>)>;
  // Appends one fetched batch (its stored bytes, offsets and term as the
  // source stored them) to the local log; returns the local end after it, or
  // the error that stops the catch-up.
  using ApplyBatch = std::function<Result<uint64_t>(std::string_view batch)>;
  // The source retains nothing before `start`, past the local end: the local
  // log restarts there (PublishPipeline::RestartReplicatedAt); returns the
  // local end after it. `start` is never past the target: when the source
  // retains nothing before the target, the log restarts at the target.
  using RestartAt = std::function<Result<uint64_t>(uint64_t start)>;
  // The catch-up reached its target (OK) or stopped; runs once, on the loop,
  // and may destroy this object.
  using Done = std::function<void(const Status& status)>;

  // Fetches of at most this many bytes each.
  static constexpr uint32_t kFetchBytes = 4u << 20;

  // Connects to `source` (a client address) lazily; INVALID_ARGUMENT for a
  // malformed one. Nothing is fetched before Start.
  static Result<std::unique_ptr<RecordCatchUp>> Create(std::string topic, uint32_t partition,
                                                       const std::string& source, uint64_t from,
                                                       uint64_t to, Post post, ApplyBatch apply,
                                                       RestartAt restart_at, Done done);
  // Closes the connection; `done` does not run after this.
  ~RecordCatchUp();

  void Start();
  // A newer image needs records up to `to` (never lowers the target).
  void ExtendTo(uint64_t to);

  const std::string& source() const { return source_; }
  // The next offset to copy, and the target.
  uint64_t next() const { return next_; }
  uint64_t to() const { return to_; }
  uint64_t bytes_copied() const { return bytes_copied_; }

 private:
  RecordCatchUp(std::string topic, uint32_t partition, std::string source,
                std::unique_ptr<transport::ClientConnection> connection, uint64_t from, uint64_t to,
                Post post, ApplyBatch apply, RestartAt restart_at, Done done);
  // One request whose reply OnReply or OnEarliest handles on the loop.
  void Call(protocol::MessageType type, std::string body,
            void (RecordCatchUp::*handle)(Result<transport::Reply>));
  void FetchNext();
  void OnReply(Result<transport::Reply> reply);
  // The answer to LIST_OFFSETS earliest, asked after OFFSET_OUT_OF_RANGE.
  void OnEarliest(Result<transport::Reply> reply);
  // Applies the reply's batches in [next_, to_); an error stops the catch-up.
  Status ApplyReply(const transport::Reply& reply);
  void Finish(const Status& status);

  const std::string topic_;
  const uint32_t partition_;
  const std::string source_;
  std::unique_ptr<transport::ClientConnection> connection_;
  uint64_t next_;
  uint64_t to_;
  uint64_t bytes_copied_ = 0;
  Post post_;
  ApplyBatch apply_;
  RestartAt restart_at_;
  Done done_;
  bool finished_ = false;
  // Replies posted by the connection's thread check it: this may be gone.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace sprawl::replica
