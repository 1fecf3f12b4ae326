#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/broker/topic_config.h"
#include "core/storage/store.h"

namespace sprawl::broker {

// A topic and the logs of its partitions (index = partition number). The
// logs are shares: work in flight that holds one (an append's completion)
// keeps the object alive after the topic is deleted.
struct Topic {
  std::string name;
  TopicConfig config;
  std::vector<std::shared_ptr<storage::PartitionLog>> partitions;
};

// The node's topics: their configurations, stored as records of the store
// ("topic/<name>"), and their partition logs. Not thread-safe: the node's
// event loop owns it.
class TopicRegistry {
 public:
  // `store` must outlive the registry.
  explicit TopicRegistry(storage::Store& store) : store_(store) {}

  // Loads every stored topic and opens its partitions; drops partitions left
  // by a topic whose deletion was interrupted.
  Status Load();

  // Creates a topic. ALREADY_EXISTS, INVALID_ARGUMENT (name, config, a dead
  // letter topic that does not exist); nothing changes on error.
  Result<const Topic*> Create(std::string_view name, const protocol::pb::TopicConfig& asked);
  // Changes the fields present in `patch`; new partitions are created.
  Result<const Topic*> Alter(std::string_view name, const protocol::pb::TopicConfig& patch);
  // Deletes a topic and all its data. NOT_FOUND; INVALID_ARGUMENT while
  // another topic names it as its dead letter topic.
  Status Delete(std::string_view name);

  // NOT_FOUND when absent.
  Result<const Topic*> Find(std::string_view name) const;
  // NOT_FOUND for an unknown topic or partition. The pointer is valid until
  // the topic is deleted.
  Result<storage::PartitionLog*> Partition(std::string_view topic, uint32_t partition) const;
  std::vector<const Topic*> List() const;

  // The topic as the protocol describes it: config and partition figures.
  static protocol::pb::TopicDescription Describe(const Topic& topic);

 private:
  Status OpenPartitions(Topic& topic);
  Status Persist(const Topic& topic);

  storage::Store& store_;
  std::map<std::string, Topic, std::less<>> topics_;
};

}  // namespace sprawl::broker
