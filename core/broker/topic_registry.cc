#include "core/broker/topic_registry.h"

#include <set>

#include "core/util/logging.h"

namespace sprawl::broker {
namespace {

constexpr std::string_view kTopicPrefix = "topic/";

std::string TopicRecordKey(std::string_view name) {
  return std::string(kTopicPrefix) + std::string(name);
}

storage::RetentionPolicy RetentionOf(const TopicConfig& config) {
  storage::RetentionPolicy policy;
  if (config.retention_ms > 0) policy.max_age_ms = config.retention_ms;
  if (config.retention_bytes > 0) policy.max_bytes = config.retention_bytes;
  return policy;
}

}  // namespace

Status TopicRegistry::Load() {
  SPRAWL_ASSIGN_OR_RETURN(auto records, store_.ScanRecords(kTopicPrefix));
  for (auto& [key, value] : records) {
    const std::string name = key.substr(kTopicPrefix.size());
    SPRAWL_ASSIGN_OR_RETURN(TopicConfig config, DecodeTopicConfig(name, value));
    Topic topic{name, std::move(config), {}};
    SPRAWL_RETURN_IF_ERROR(OpenPartitions(topic));
    topics_.emplace(name, std::move(topic));
  }
  // A crash between deleting a topic's record and dropping its partitions
  // leaves partitions without a topic: finish the deletion.
  for (const storage::PartitionKey& key : store_.Partitions()) {
    if (topics_.find(key.topic) == topics_.end()) {
      log::Warn("dropping partition of a deleted topic", {{"partition", key.ToString()}});
      SPRAWL_RETURN_IF_ERROR(store_.DropPartition(key));
    }
  }
  return Status::Ok();
}

Status TopicRegistry::OpenPartitions(Topic& topic) const {
  const storage::RetentionPolicy retention = RetentionOf(topic.config);
  for (uint32_t p = static_cast<uint32_t>(topic.partitions.size()); p < topic.config.partitions;
       ++p) {
    SPRAWL_RETURN_IF_ERROR(store_.OpenPartition({topic.name, p}).status());
    SPRAWL_ASSIGN_OR_RETURN(auto log, store_.SharePartition({topic.name, p}));
    topic.partitions.push_back(std::move(log));
  }
  for (uint32_t p = 0; p < topic.config.partitions; ++p) {
    SPRAWL_RETURN_IF_ERROR(store_.SetRetention({topic.name, p}, retention));
  }
  return Status::Ok();
}

Status TopicRegistry::Persist(const Topic& topic) const {
  return store_.PutRecord(TopicRecordKey(topic.name), EncodeTopicConfig(topic.config));
}

Result<Topic> TopicRegistry::CheckCreate(std::string_view name,
                                         const protocol::pb::TopicConfig& asked) const {
  SPRAWL_ASSIGN_OR_RETURN(TopicConfig config, ConfigForCreate(name, asked));
  if (topics_.find(name) != topics_.end()) {
    return AlreadyExists("topic '" + std::string(name) + "' already exists");
  }
  if (!config.dead_letter_topic.empty() &&
      topics_.find(config.dead_letter_topic) == topics_.end()) {
    return InvalidArgument("dead letter topic '" + config.dead_letter_topic +
                           "' does not exist; create it first");
  }
  return Topic{std::string(name), std::move(config), {}};
}

Result<Topic> TopicRegistry::CheckAlter(std::string_view name,
                                        const protocol::pb::TopicConfig& patch) const {
  auto it = topics_.find(name);
  if (it == topics_.end()) return NotFound("topic '" + std::string(name) + "' does not exist");
  SPRAWL_ASSIGN_OR_RETURN(TopicConfig config, ConfigForAlter(name, it->second.config, patch));
  if (!config.dead_letter_topic.empty() &&
      topics_.find(config.dead_letter_topic) == topics_.end()) {
    return InvalidArgument("dead letter topic '" + config.dead_letter_topic +
                           "' does not exist; create it first");
  }
  Topic altered = it->second;
  altered.config = std::move(config);
  return altered;
}

Status TopicRegistry::CheckDelete(std::string_view name) const {
  if (topics_.find(name) == topics_.end()) {
    return NotFound("topic '" + std::string(name) + "' does not exist");
  }
  for (const auto& [other, topic] : topics_) {
    if (other != name && topic.config.dead_letter_topic == name) {
      return InvalidArgument("topic '" + std::string(name) + "' is the dead letter topic of '" +
                             other + "'; change that topic first");
    }
  }
  return Status::Ok();
}

Status TopicRegistry::WriteTopic(Topic& topic) const {
  SPRAWL_RETURN_IF_ERROR(Persist(topic));
  return OpenPartitions(topic);
}

Status TopicRegistry::DropTopic(const std::string& name, uint32_t partitions) const {
  SPRAWL_RETURN_IF_ERROR(store_.DeleteRecord(TopicRecordKey(name)));
  for (uint32_t p = 0; p < partitions; ++p) {
    SPRAWL_RETURN_IF_ERROR(store_.DropPartition({name, p}));
  }
  return Status::Ok();
}

const Topic* TopicRegistry::Install(Topic topic) {
  auto it = topics_.find(topic.name);
  const bool created = it == topics_.end();
  if (created) {
    it = topics_.emplace(topic.name, std::move(topic)).first;
  } else {
    it->second = std::move(topic);
  }
  log::Info(created ? "topic created" : "topic altered",
            {{"topic", it->first}, {"partitions", it->second.config.partitions}});
  return &it->second;
}

void TopicRegistry::Erase(std::string_view name) {
  auto it = topics_.find(name);
  if (it == topics_.end()) return;
  log::Info("topic deleted", {{"topic", it->first}});
  topics_.erase(it);
}

Result<const Topic*> TopicRegistry::Find(std::string_view name) const {
  auto it = topics_.find(name);
  if (it == topics_.end()) return NotFound("topic '" + std::string(name) + "' does not exist");
  return &it->second;
}

Result<storage::PartitionLog*> TopicRegistry::Partition(std::string_view topic,
                                                        uint32_t partition) const {
  SPRAWL_ASSIGN_OR_RETURN(const Topic* t, Find(topic));
  if (partition >= t->partitions.size()) {
    return NotFound("topic '" + std::string(topic) + "' has no partition " +
                    std::to_string(partition) + " (it has " + std::to_string(t->partitions.size()) +
                    ")");
  }
  return t->partitions[partition].get();
}

std::vector<const Topic*> TopicRegistry::List() const {
  std::vector<const Topic*> out;
  out.reserve(topics_.size());
  for (const auto& [name, topic] : topics_) out.push_back(&topic);
  return out;
}

protocol::pb::TopicDescription TopicRegistry::Describe(const Topic& topic) {
  protocol::pb::TopicDescription d;
  d.set_name(topic.name);
  *d.mutable_config() = ToProto(topic.config);
  for (uint32_t p = 0; p < topic.partitions.size(); ++p) {
    const storage::PartitionStats stats = topic.partitions[p]->Stats();
    auto* s = d.add_partitions();
    s->set_partition(p);
    s->set_first_offset(stats.first_offset);
    s->set_next_offset(stats.next_offset);
    s->set_commit_index(stats.commit_index);
    s->set_memory_bytes(stats.memory_bytes);
    s->set_disk_bytes(stats.disk_bytes);
  }
  return d;
}

}  // namespace sprawl::broker
