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

  // Topic administration in three steps, so that the disk work runs off the
  // event loop: a check on the loop (nothing changes), the disk work on a
  // worker thread (touches only the store and the Topic it is given), and an
  // install on the loop once the disk work succeeded.
  //
  // The topic `name` would become: ALREADY_EXISTS, INVALID_ARGUMENT (name,
  // config, a dead letter topic that does not exist).
  Result<Topic> CheckCreate(std::string_view name, const protocol::pb::TopicConfig& asked) const;
  // The topic after applying the fields present in `patch`: NOT_FOUND,
  // INVALID_ARGUMENT. Its partition list still holds only the existing logs.
  Result<Topic> CheckAlter(std::string_view name, const protocol::pb::TopicConfig& patch) const;
  // Whether `name` may be deleted: NOT_FOUND; INVALID_ARGUMENT while another
  // topic names it as its dead letter topic.
  Status CheckDelete(std::string_view name) const;
  // Worker thread: stores the topic's record and opens its missing partitions
  // (adding them to `topic`). The record goes first: partitions without a
  // record are dropped on the next load, so a crash in between leaves no
  // half-created topic behind.
  Status WriteTopic(Topic& topic) const;
  // Worker thread: deletes the record of `name`, then its `partitions`.
  Status DropTopic(const std::string& name, uint32_t partitions) const;
  // Loop thread, after WriteTopic: the topic as it is now (new or altered).
  const Topic* Install(Topic topic);
  // Loop thread, after DropTopic.
  void Erase(std::string_view name);

  // NOT_FOUND when absent.
  Result<const Topic*> Find(std::string_view name) const;
  // NOT_FOUND for an unknown topic or partition. The pointer is valid until
  // the topic is deleted.
  Result<storage::PartitionLog*> Partition(std::string_view topic, uint32_t partition) const;
  std::vector<const Topic*> List() const;

  // The topic as the protocol describes it: config and partition figures.
  static protocol::pb::TopicDescription Describe(const Topic& topic);

 private:
  Status OpenPartitions(Topic& topic) const;
  Status Persist(const Topic& topic) const;

  storage::Store& store_;
  std::map<std::string, Topic, std::less<>> topics_;
};

}  // namespace sprawl::broker
