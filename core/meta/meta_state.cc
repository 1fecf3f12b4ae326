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

Status MetaState::CheckReplicationChange(std::string_view topic, uint32_t from,
                                         const broker::TopicConfig& altered) {
  const uint32_t to = altered.replication_factor;
  if (to == from) return Status::Ok();
  const std::string name = "topic '" + std::string(topic) + "'";
  if (from == 1 || to == 1) {
    // A partition with one replica has no Raft group: its records were
    // never entries another replica could be caught up from.
    return InvalidArgument(name + ": the replication factor cannot change from " +
                           std::to_string(from) + " to " + std::to_string(to) +
                           "; between 1 and more it is fixed when the topic is created");
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
      std::vector<uint32_t> moves(assignment.size(), 0);
      topics_[c.topic] =
          MetaTopic{c.topic_id, std::move(*config), std::move(assignment), std::move(moves)};
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
      SPRAWL_RETURN_IF_ERROR(
          CheckReplicationChange(c.topic, it->second.config.replication_factor, altered));
      auto& assignment = it->second.assignment;
      auto& moves = it->second.moves;
      const bool refactor = altered.replication_factor != it->second.config.replication_factor;
      if (!assignment.empty() && (refactor || altered.partitions > assignment.size())) {
        // New partitions of a placed topic are placed by the command; the
        // existing ones keep their replicas unless the factor changed, when
        // the command names every partition's new replica set.
        if (c.assignment.size() < altered.partitions) {
          return InvalidArgument(
              "topic '" + c.topic + "': the change comes without the replicas of " +
              std::to_string(altered.partitions - c.assignment.size()) + " partitions");
        }
        SPRAWL_RETURN_IF_ERROR(CheckAssignment(c.topic, c.assignment, altered.partitions));
        if (refactor) {
          for (size_t p = 0; p < assignment.size(); ++p) {
            if (c.assignment[p].size() != altered.replication_factor) {
              return InvalidArgument("topic '" + c.topic + "': partition " + std::to_string(p) +
                                     " is given " + std::to_string(c.assignment[p].size()) +
                                     " replicas for a replication factor of " +
                                     std::to_string(altered.replication_factor));
            }
          }
        }
        moves.resize(assignment.size(), 0);
        for (size_t p = 0; p < assignment.size(); ++p) {
          if (refactor && c.assignment[p] != assignment[p]) {
            assignment[p] = c.assignment[p];
            ++moves[p];
          }
        }
        for (size_t p = assignment.size(); p < altered.partitions; ++p) {
          assignment.push_back(c.assignment[p]);
          moves.push_back(0);
        }
      }
      it->second.config = std::move(altered);
      return Status::Ok();
    }
    case MetaCommand::Kind::kMove: {
      auto it = topics_.find(c.topic);
      if (it == topics_.end() || it->second.topic_id != c.topic_id) {
        return NotFound("topic '" + c.topic + "' does not exist (or was created again)");
      }
      auto& assignment = it->second.assignment;
      if (assignment.empty() || c.assignment.size() != assignment.size()) {
        return InvalidArgument("topic '" + c.topic + "': a move must name the replicas of its " +
                               std::to_string(assignment.size()) + " placed partitions");
      }
      SPRAWL_RETURN_IF_ERROR(
          CheckAssignment(c.topic, c.assignment, static_cast<uint32_t>(assignment.size())));
      for (size_t p = 0; p < assignment.size(); ++p) {
        if (c.assignment[p].size() != assignment[p].size()) {
          return InvalidArgument("topic '" + c.topic + "': a move keeps the number of replicas");
        }
      }
      auto& moves = it->second.moves;
      moves.resize(assignment.size(), 0);
      for (size_t p = 0; p < assignment.size(); ++p) {
        if (c.assignment[p] != assignment[p]) {
          assignment[p] = c.assignment[p];
          ++moves[p];
        }
      }
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
