#include "core/replica/record_catch_up.h"

#include <algorithm>
#include <utility>

#include "core/protocol/message_type.h"
#include "core/protocol/messages.h"
#include "core/storage/record_batch.h"

namespace sprawl::replica {

namespace pb = protocol::pb;

Result<std::unique_ptr<RecordCatchUp>> RecordCatchUp::Create(std::string topic, uint32_t partition,
                                                             const std::string& source,
                                                             uint64_t from, uint64_t to, Post post,
                                                             ApplyBatch apply, RestartAt restart_at,
                                                             Done done) {
  transport::ClientOptions options;
  // A source that stops answering fails the fetch within seconds; the next
  // image from the leader starts the catch-up again, perhaps elsewhere.
  options.request_timeout = std::chrono::milliseconds(10'000);
  options.max_outstanding = 4;
  SPRAWL_ASSIGN_OR_RETURN(auto connection, transport::ClientConnection::Connect(source, options));
  return std::unique_ptr<RecordCatchUp>(
      new RecordCatchUp(std::move(topic), partition, source, std::move(connection), from, to,
                        std::move(post), std::move(apply), std::move(restart_at), std::move(done)));
}

RecordCatchUp::RecordCatchUp(std::string topic, uint32_t partition, std::string source,
                             std::unique_ptr<transport::ClientConnection> connection, uint64_t from,
                             uint64_t to, Post post, ApplyBatch apply, RestartAt restart_at,
                             Done done)
    : topic_(std::move(topic)),
      partition_(partition),
      source_(std::move(source)),
      connection_(std::move(connection)),
      next_(from),
      to_(to),
      post_(std::move(post)),
      apply_(std::move(apply)),
      restart_at_(std::move(restart_at)),
      done_(std::move(done)) {}

RecordCatchUp::~RecordCatchUp() {
  *alive_ = false;
  connection_->Close();
}

void RecordCatchUp::Start() {
  if (next_ >= to_) {
    Finish(Status::Ok());
    return;
  }
  FetchNext();
}

void RecordCatchUp::ExtendTo(uint64_t to) { to_ = std::max(to_, to); }

void RecordCatchUp::Call(protocol::MessageType type, std::string body,
                         void (RecordCatchUp::*handle)(Result<transport::Reply>)) {
  connection_->CallAsync(
      static_cast<uint16_t>(type), std::move(body), {},
      [post = post_, alive = alive_, this, handle](Result<transport::Reply> reply) {
        // The connection's thread: hand the reply to the loop.
        post([alive, this, handle, reply = std::move(reply)]() mutable {
          if (*alive) (this->*handle)(std::move(reply));
        });
      });
}

void RecordCatchUp::FetchNext() {
  pb::FetchRequest request;
  request.set_topic(topic_);
  request.set_partition(partition_);
  request.set_offset(next_);
  request.set_max_bytes(kFetchBytes);
  Call(protocol::MessageType::kFetch, request.SerializeAsString(), &RecordCatchUp::OnReply);
}

void RecordCatchUp::OnEarliest(Result<transport::Reply> reply) {
  if (finished_) return;
  Status status = reply.ok() ? reply->status() : reply.status();
  pb::ListOffsetsResponse earliest;
  if (status.ok() && !earliest.ParseFromString(reply->body)) {
    status = DataCorruption("list offsets reply does not decode");
  }
  if (status.ok() && earliest.offset() <= next_) {
    status =
        DataCorruption("replica " + source_ + " refused offset " + std::to_string(next_) +
                       " as out of range but retains from " + std::to_string(earliest.offset()));
  }
  if (status.ok()) {
    // Past the target, the source's retention removed records the target's
    // image covers too: the log restarts at the target, where the entries
    // after the image continue it (a start past it could never match their
    // offsets).
    auto restarted = restart_at_(std::min<uint64_t>(earliest.offset(), to_));
    if (restarted.ok()) {
      next_ = *restarted;
    } else {
      status = restarted.status();
    }
  }
  if (!status.ok()) {
    Finish(status);
  } else if (next_ >= to_) {
    Finish(Status::Ok());
  } else {
    FetchNext();
  }
}

void RecordCatchUp::OnReply(Result<transport::Reply> reply) {
  if (finished_) return;
  if (!reply.ok()) {
    Finish(reply.status());
    return;
  }
  if (reply->status().code() == ErrorCode::kOffsetOutOfRange) {
    // Retention on the source removed records this replica lacks: it starts
    // at the source's first retained offset instead.
    pb::ListOffsetsRequest request;
    request.set_topic(topic_);
    request.set_partition(partition_);
    request.set_spec(pb::OFFSET_EARLIEST);
    Call(protocol::MessageType::kListOffsets, request.SerializeAsString(),
         &RecordCatchUp::OnEarliest);
    return;
  }
  const uint64_t before = next_;
  Status applied = ApplyReply(*reply);
  if (!applied.ok()) {
    Finish(applied);
    return;
  }
  if (next_ >= to_) {
    Finish(Status::Ok());
  } else if (next_ == before) {
    // The source holds nothing past `next_` yet: it has not applied as far
    // as the image it sent (it was its leader then), or lost leadership.
    Finish(IoError("replica " + source_ + " returned no record of partition " +
                   std::to_string(partition_) + " of topic '" + topic_ + "' from offset " +
                   std::to_string(next_)));
  } else {
    FetchNext();
  }
}

Status RecordCatchUp::ApplyReply(const transport::Reply& reply) {
  SPRAWL_RETURN_IF_ERROR(reply.status());
  for (const std::string& bytes : reply.batches) {
    SPRAWL_ASSIGN_OR_RETURN(auto batch, storage::RecordBatchView::ParseVerified(bytes));
    if (batch.base_offset() >= to_) break;
    if (batch.last_offset() < next_)
      continue;  // the batch before `next_` (a fetch starts at the one holding it)
    if (batch.base_offset() != next_) {
      return DataCorruption("replica " + source_ + " returned a batch at offset " +
                            std::to_string(batch.base_offset()) + " where " +
                            std::to_string(next_) + " was expected");
    }
    SPRAWL_ASSIGN_OR_RETURN(uint64_t end, apply_(bytes));
    if (end != batch.last_offset() + 1) {
      return DataCorruption("a copied batch ended the local log at " + std::to_string(end) +
                            ", not at " + std::to_string(batch.last_offset() + 1));
    }
    next_ = end;
    bytes_copied_ += bytes.size();
  }
  return Status::Ok();
}

void RecordCatchUp::Finish(const Status& status) {
  if (finished_) return;
  finished_ = true;
  Done done = std::move(done_);
  done(status);  // may destroy this
}

}  // namespace sprawl::replica
