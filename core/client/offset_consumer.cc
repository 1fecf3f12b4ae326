#include "core/client/offset_consumer.h"

#include <algorithm>
#include <charconv>

namespace sprawl::client {
namespace {

Status ClosedReader() { return Status(ErrorCode::kClosed, "the consumer is closed"); }

bool ParseInteger(std::string_view text, uint64_t* out) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return !text.empty() && error == std::errc() && end == text.data() + text.size();
}

}  // namespace

Result<StartPosition> StartPosition::Parse(const std::string& text) {
  StartPosition p;
  uint64_t number = 0;
  if (text == "earliest") {
    p.kind = Kind::kEarliest;
  } else if (text == "latest") {
    p.kind = Kind::kLatest;
  } else if (!text.empty() && text[0] == '@' && ParseInteger(text.substr(1), &number) &&
             number <= static_cast<uint64_t>(INT64_MAX)) {
    p.kind = Kind::kTimestamp;
    p.timestamp_ms = static_cast<int64_t>(number);
  } else if (ParseInteger(text, &number)) {
    p.kind = Kind::kOffset;
    p.offset = number;
  } else {
    return InvalidArgument("start must be earliest, latest, an offset or @<timestamp ms>, not '" +
                           text + "'");
  }
  return p;
}

Result<std::unique_ptr<OffsetConsumer>> OffsetConsumer::Open(Client& client,
                                                             const std::string& topic,
                                                             std::vector<uint32_t> partitions,
                                                             const StartPosition& start,
                                                             const OffsetConsumerOptions& options) {
  SPRAWL_ASSIGN_OR_RETURN(auto described, client.DescribeTopic(topic));
  const auto count = static_cast<uint32_t>(described.partitions_size());
  if (partitions.empty()) {
    for (uint32_t p = 0; p < count; ++p) partitions.push_back(p);
  }
  const uint32_t max_fetch_bytes = options.max_fetch_bytes == 0
                                       ? static_cast<uint32_t>(protocol::kDefaultMaxInFlightBytes)
                                       : options.max_fetch_bytes;
  std::unique_ptr<OffsetConsumer> reader(new OffsetConsumer(client, topic, max_fetch_bytes));
  for (uint32_t p : partitions) {
    if (p >= count) {
      return NotFound("topic '" + topic + "' has no partition " + std::to_string(p) + " (it has " +
                      std::to_string(count) + ")");
    }
    Result<uint64_t> offset = InvalidArgument("");
    switch (start.kind) {
      case StartPosition::Kind::kEarliest:
        offset = client.ListOffset(topic, p, pb::OFFSET_EARLIEST);
        break;
      case StartPosition::Kind::kLatest:
        offset = client.ListOffset(topic, p, pb::OFFSET_LATEST);
        break;
      case StartPosition::Kind::kTimestamp:
        offset = client.ListOffset(topic, p, pb::OFFSET_TIMESTAMP, start.timestamp_ms);
        break;
      case StartPosition::Kind::kOffset:
        offset = client.ListOffset(topic, p, pb::OFFSET_EXACT, 0, start.offset);
        break;
    }
    if (!offset.ok()) return offset.status();
    reader->partitions_.push_back(p);
    reader->next_.push_back(*offset);
  }
  return reader;
}

Result<FetchResult> OffsetConsumer::Fetch(uint32_t partition, uint64_t offset,
                                          std::chrono::milliseconds wait) {
  // The request and decoding of Client::Fetch, but waiting here for the reply:
  // Client::Fetch blocks until the node answers, and Close must not wait
  // for a long poll to end.
  const pb::FetchRequest request =
      FetchRequestFor(topic_, partition, offset, wait, max_fetch_bytes_);
  auto signal = signal_;
  auto slot = std::make_shared<std::optional<Result<transport::Reply>>>();
  client_.connection().CallAsync(
      static_cast<uint16_t>(protocol::MessageType::kFetch), request.SerializeAsString(), {},
      [signal, slot](Result<transport::Reply> reply) {
        {
          MutexLock lock(signal->mu);
          slot->emplace(std::move(reply));
        }
        signal->cv.notify_all();
      },
      client_.config().request_timeout + wait);
  std::optional<Result<transport::Reply>> got;
  {
    UniqueLock lock(signal->mu);
    signal->cv.wait(lock.native(),
                    [&]() REQUIRES(signal->mu) { return signal->closed || slot->has_value(); });
    if (signal->closed) return ClosedReader();  // the reply, when it comes, goes to `slot`
    got = std::move(*slot);
  }
  SPRAWL_ASSIGN_OR_RETURN(transport::Reply reply, std::move(*got));
  return DecodeFetchReply(topic_, partition, offset, reply);
}

void OffsetConsumer::Close() {
  {
    MutexLock lock(signal_->mu);
    signal_->closed = true;
  }
  signal_->cv.notify_all();
}

Status OffsetConsumer::FetchRound(std::chrono::milliseconds wait) {
  // With several partitions a pass that does not wait comes first, so that
  // one with records is read at once, not after an idle one's poll ran out.
  if (partitions_.size() > 1 && wait.count() > 0) {
    SPRAWL_RETURN_IF_ERROR(FetchPass(std::chrono::milliseconds(0)));
  }
  if (ready_.empty()) SPRAWL_RETURN_IF_ERROR(FetchPass(wait));
  turn_ = (turn_ + 1) % partitions_.size();
  return Status::Ok();
}

Status OffsetConsumer::FetchPass(std::chrono::milliseconds wait) {
  const size_t n = partitions_.size();
  for (size_t k = 0; k < n && ready_.empty(); ++k) {
    const size_t i = (turn_ + k) % n;
    SPRAWL_ASSIGN_OR_RETURN(auto fetched, Fetch(partitions_[i], next_[i], wait));
    next_[i] = fetched.next_offset;
    for (Message& m : fetched.messages) ready_.push_back(std::move(m));
  }
  return Status::Ok();
}

Result<std::optional<Message>> OffsetConsumer::Receive(std::chrono::milliseconds timeout) {
  {
    MutexLock lock(signal_->mu);
    if (signal_->closed) return ClosedReader();
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (ready_.empty()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    // One partition waits on the node for as long as allowed; several share
    // the time in short polls so that none waits behind another.
    const auto wait =
        std::max(std::chrono::milliseconds(0),
                 std::min(left, std::chrono::milliseconds(partitions_.size() == 1 ? 1000 : 50)));
    SPRAWL_RETURN_IF_ERROR(FetchRound(wait));
    if (ready_.empty() && std::chrono::steady_clock::now() >= deadline) {
      return std::optional<Message>();
    }
  }
  Message m = std::move(ready_.front());
  ready_.pop_front();
  return std::optional<Message>(std::move(m));
}

uint64_t OffsetConsumer::position(uint32_t partition) const {
  for (size_t i = 0; i < partitions_.size(); ++i) {
    if (partitions_[i] == partition) return next_[i];
  }
  return 0;
}

}  // namespace sprawl::client
