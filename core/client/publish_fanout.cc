#include "core/client/publish_fanout.h"

#include "core/transport/frame.h"

namespace sprawl::client {

namespace pb = protocol::pb;

std::optional<PublishFanout> PublishFanout::Decode(const std::string& body,
                                                   std::vector<std::string>& frames) {
  pb::PublishRequest request;
  if (!request.ParseFromString(body) || request.batches_size() != static_cast<int>(frames.size())) {
    return std::nullopt;
  }
  return PublishFanout(std::move(request), std::move(frames));
}

PublishFanout::PublishFanout(pb::PublishRequest request, std::vector<std::string> frames)
    : request_(std::move(request)), frames_(std::move(frames)), results_(frames_.size()) {}

std::string PublishFanout::Body(const std::vector<size_t>& indexes) const {
  pb::PublishRequest sub;
  sub.set_topic(request_.topic());
  sub.set_acks(request_.acks());
  for (size_t i : indexes) *sub.add_batches() = request_.batches(static_cast<int>(i));
  return sub.SerializeAsString();
}

std::vector<std::string> PublishFanout::CopyFrames(const std::vector<size_t>& indexes) const {
  std::vector<std::string> out;
  out.reserve(indexes.size());
  for (size_t i : indexes) out.push_back(frames_[i]);
  return out;
}

std::vector<std::string> PublishFanout::TakeFrames(const std::vector<size_t>& indexes) {
  std::vector<std::string> out;
  out.reserve(indexes.size());
  for (size_t i : indexes) out.push_back(std::move(frames_[i]));
  return out;
}

void PublishFanout::SetResult(size_t i, pb::PublishResult result) {
  results_[i] = std::move(result);
}

void PublishFanout::SetError(size_t i, const Status& status) {
  pb::PublishResult result;
  result.set_partition(partition(i));
  *result.mutable_error() = transport::ErrorBody(status);
  results_[i] = std::move(result);
}

std::string PublishFanout::MergedBody() const {
  pb::PublishResponse response;
  for (size_t i = 0; i < results_.size(); ++i) {
    pb::PublishResult* out = response.add_results();
    if (results_[i]) {
      *out = *results_[i];
    } else {
      out->set_partition(partition(i));
      *out->mutable_error() =
          transport::ErrorBody(Status(ErrorCode::kInternal, "no result was gathered for a batch"));
    }
  }
  return response.SerializeAsString();
}

}  // namespace sprawl::client
