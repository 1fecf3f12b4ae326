#include "core/meta/meta_state.h"

#include <algorithm>
#include <set>

#include "core/storage/producer_identity.h"
#include "core/storage/store.h"

namespace sprawl::meta {

Status MetaState::CheckDeadLetter(std::string_view topic, const broker::TopicConfig& config) const {
  if (config.dead_letter_topic.empty() || topics_.count(config.dead_letter_topic) > 0 ||
      config.dead_letter_topic == topic) {
    return Status::Ok();
  }
  return InvalidArgument("dead letter topic '" + config.dead_letter_topic +
                         "' does not exist; create it first");
}

Status MetaState::CheckAssignment(std::string_view topic,
                                  const std::vector<std::vector<std::string>>& assignment,
                                  uint32_t partitions) {
  if (assignment.empty()) return Status::Ok();
  if (assignment.size() < partitions) {
    return InvalidArgument("topic '" + std::string(topic) + "': the assignment places " +
                           std::to_string(assignment.size()) + " of " + std::to_string(partitions) +
                           " partitions");
  }
  for (const auto& replicas : assignment) {
    std::set<std::string_view> distinct(replicas.begin(), replicas.end());
    if (replicas.empty() || distinct.size() != replicas.size()) {
      return InvalidArgument("topic '" + std::string(topic) +
                             "': a partition's replicas are empty or repeat a member");
    }
  }
  return Status::Ok();
}

Status MetaState::Apply(const MetaCommand& c) {
  if (!c.request_id.empty()) {
    if (applied_.count(c.request_id) > 0) return Status::Ok();
    applied_.insert(c.request_id);
    applied_order_.push_back(c.request_id);
    if (applied_order_.size() > kRememberedRequests) {
      applied_.erase(applied_order_.front());
      applied_order_.pop_front();
    }
  }
  switch (c.kind) {
    case MetaCommand::Kind::kCreate: {
      SPRAWL_RETURN_IF_ERROR(storage::Store::ValidateTopicName(c.topic));
      if (topics_.count(c.topic) > 0) {
        return AlreadyExists("topic '" + c.topic + "' already exists");
      }
      auto config = broker::DecodeTopicConfig(c.topic, c.config);
      if (!config.ok()) return InvalidArgument(config.status().message());
      SPRAWL_RETURN_IF_ERROR(CheckDeadLetter(c.topic, *config));
      SPRAWL_RETURN_IF_ERROR(CheckAssignment(c.topic, c.assignment, config->partitions));
      std::vector<std::vector<std::string>> assignment = c.assignment;
      if (!assignment.empty()) assignment.resize(config->partitions);
      topics_[c.topic] = MetaTopic{c.topic_id, std::move(*config), std::move(assignment)};
      return Status::Ok();
    }
    case MetaCommand::Kind::kAlter: {
      auto it = topics_.find(c.topic);
      if (it == topics_.end()) return NotFound("topic '" + c.topic + "' does not exist");
      protocol::pb::TopicConfig patch;
      if (!patch.ParseFromString(c.config)) {
        return InvalidArgument("topic '" + c.topic + "': the config change does not decode");
      }
      SPRAWL_ASSIGN_OR_RETURN(broker::TopicConfig altered,
                              broker::ConfigForAlter(c.topic, it->second.config, patch));
      SPRAWL_RETURN_IF_ERROR(CheckDeadLetter(c.topic, altered));
      auto& assignment = it->second.assignment;
      if (!assignment.empty() && altered.partitions > assignment.size()) {
        // New partitions of a placed topic are placed by the command; the
        // existing ones keep their replicas.
        if (c.assignment.size() < altered.partitions) {
          return InvalidArgument("topic '" + c.topic +
                                 "': " + std::to_string(altered.partitions - assignment.size()) +
                                 " new partitions come without replicas");
        }
        SPRAWL_RETURN_IF_ERROR(CheckAssignment(c.topic, c.assignment, altered.partitions));
        for (size_t p = assignment.size(); p < altered.partitions; ++p) {
          assignment.push_back(c.assignment[p]);
        }
      }
      it->second.config = std::move(altered);
      return Status::Ok();
    }
    case MetaCommand::Kind::kDelete: {
      auto it = topics_.find(c.topic);
      if (it == topics_.end()) return NotFound("topic '" + c.topic + "' does not exist");
      for (const auto& [name, t] : topics_) {
        if (name != c.topic && t.config.dead_letter_topic == c.topic) {
          return InvalidArgument("topic '" + c.topic + "' is the dead letter topic of '" + name +
                                 "'; change or delete that topic first");
        }
      }
      topics_.erase(it);
      return Status::Ok();
    }
    case MetaCommand::Kind::kInitProducer: {
      if (c.topic.empty() || c.topic.size() > storage::kMaxProducerNameBytes) {
        return InvalidArgument("a producer name must have 1 to " +
                               std::to_string(storage::kMaxProducerNameBytes) + " bytes");
      }
      // Epochs count per family: two names that hash alike (one chance in
      // about 10^14 for a pair) share a counter, so each start fences the
      // other's instances too, and neither is ever left unfenced.
      uint16_t& epoch = family_epochs_[storage::NamedProducerFamily(c.topic)];
      if (epoch == UINT16_MAX) {
        return Status(ErrorCode::kResourceExhausted,
                      "producer name '" + c.topic + "' has used all " + std::to_string(UINT16_MAX) +
                          " epochs; use another name",
                      false);
      }
      ++epoch;
      return Status::Ok();
    }
  }
  return InvalidArgument("metadata command of an unknown kind");
}

uint16_t MetaState::ProducerEpoch(std::string_view name) const {
  return FamilyEpoch(storage::NamedProducerFamily(name));
}

uint16_t MetaState::FamilyEpoch(uint64_t family) const {
  auto it = family_epochs_.find(family);
  return it == family_epochs_.end() ? 0 : it->second;
}

const MetaTopic* MetaState::Find(std::string_view topic) const {
  auto it = topics_.find(topic);
  return it == topics_.end() ? nullptr : &it->second;
}

}  // namespace sprawl::meta
