#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/protocol/messages.h"
#include "core/util/status.h"

namespace sprawl::client {

// One PUBLISH request split among partition leaders: the batches it carries,
// the sub-request for any subset of them, and the per-batch results gathered
// back into one PublishResponse in the original order, so the sender sees
// one reply whatever the split. Not thread-safe.
class PublishFanout {
 public:
  // The request in `body` and its batch frames (taken from `frames` only on
  // success), or nullopt when the body does not decode or the frames do not
  // match its batch list: such a request is sent unchanged for the node to
  // refuse.
  static std::optional<PublishFanout> Decode(const std::string& body,
                                             std::vector<std::string>& frames);

  const std::string& topic() const { return request_.topic(); }
  size_t size() const { return frames_.size(); }
  uint32_t partition(size_t i) const { return request_.batches(static_cast<int>(i)).partition(); }

  // The body of a sub-request carrying batches `indexes`, in that order.
  std::string Body(const std::vector<size_t>& indexes) const;
  // Copies of those batches' frames: the originals stay for a re-send.
  std::vector<std::string> CopyFrames(const std::vector<size_t>& indexes) const;
  // The frames themselves, for a request that is never re-sent (NO_REPLY).
  std::vector<std::string> TakeFrames(const std::vector<size_t>& indexes);

  // Records batch i's outcome: a node's result, or an error for the batch.
  void SetResult(size_t i, protocol::pb::PublishResult result);
  void SetError(size_t i, const Status& status);
  // The PublishResponse with every batch's result, in the request's order
  // (a batch without one yet gets INTERNAL: callers set them all first).
  std::string MergedBody() const;

 private:
  PublishFanout(protocol::pb::PublishRequest request, std::vector<std::string> frames);

  protocol::pb::PublishRequest request_;
  std::vector<std::string> frames_;
  std::vector<std::optional<protocol::pb::PublishResult>> results_;
};

}  // namespace sprawl::client
