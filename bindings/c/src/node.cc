// The embedded node.
#include "handles.h"
#include "settings.h"

namespace sprawl::cabi {
namespace {

// "a:1, b:2" -> {"a:1", "b:2"}: the join setting's comma-separated seeds.
std::vector<std::string> SplitList(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    const size_t first = item.find_first_not_of(' ');
    const size_t last = item.find_last_not_of(' ');
    if (first != std::string::npos) items.push_back(item.substr(first, last - first + 1));
    start = end + 1;
  }
  return items;
}

Result<node::NodeConfig> NodeConfigFrom(const sprawl_config_t* config) {
  SPRAWL_RETURN_IF_ERROR(CheckScope(config, Scope::kNode));
  node::NodeConfig c;
  // An embedded node defaults to what a test or an application wants: no
  // files and no fixed ports.
  c.storage = storage::StorageMode::kMemory;
  c.client_port = 0;
  c.http_port = 0;
  if (auto v = Get(config, "node_id")) c.node_id = *v;
  if (auto v = Get(config, "data_dir")) {
    c.data_dir = *v;
    c.storage = storage::StorageMode::kDisk;  // a data dir means disk unless told otherwise
  }
  if (auto v = Get(config, "storage")) {
    SPRAWL_ASSIGN_OR_RETURN(c.storage, storage::ParseStorageMode(*v));
    if (c.storage == storage::StorageMode::kDisk && !Get(config, "data_dir")) {
      return InvalidArgument("disk storage needs the data_dir setting");
    }
  }
  if (auto v = Get(config, "fsync")) {
    SPRAWL_ASSIGN_OR_RETURN(c.fsync, storage::FsyncPolicy::Parse(*v));
  }
  if (auto v = Get(config, "bind")) c.bind = *v;
  c.client_port = static_cast<uint16_t>(GetUint(config, "client_port", c.client_port));
  c.http_port = static_cast<uint16_t>(GetUint(config, "http_port", c.http_port));
  c.peer_port = static_cast<uint16_t>(GetUint(config, "peer_port", 0));
  c.memory_bytes_per_partition =
      GetUint(config, "memory_bytes_per_partition", c.memory_bytes_per_partition);
  c.memory_tier_bytes = GetUint(config, "memory_tier_bytes", c.memory_tier_bytes);
  c.max_pending_publish_bytes =
      GetUint(config, "max_pending_publish_bytes", c.max_pending_publish_bytes);
  if (auto v = Get(config, "join")) c.join = SplitList(*v);
  if (auto v = Get(config, "rack")) c.rack = *v;
  overlay::MembershipConfig& gossip = c.membership;
  gossip.probe_interval_ms = static_cast<int64_t>(
      GetUint(config, "gossip_probe_interval_ms", static_cast<uint64_t>(gossip.probe_interval_ms)));
  gossip.probe_timeout_ms = static_cast<int64_t>(
      GetUint(config, "gossip_probe_timeout_ms", static_cast<uint64_t>(gossip.probe_timeout_ms)));
  gossip.push_pull_interval_ms = static_cast<int64_t>(GetUint(
      config, "gossip_push_pull_interval_ms", static_cast<uint64_t>(gossip.push_pull_interval_ms)));
  return c;
}

}  // namespace
}  // namespace sprawl::cabi

extern "C" {

sprawl_status_t sprawl_node_start(const sprawl_config_t* config, sprawl_node_t** out,
                                  sprawl_error_t** err) {
  using namespace sprawl::cabi;
  if (out == nullptr) return NullArgument(err, "out");
  *out = nullptr;
  return Guard(err, [&]() -> sprawl::Status {
    SPRAWL_ASSIGN_OR_RETURN(auto node_config, NodeConfigFrom(config));
    SPRAWL_ASSIGN_OR_RETURN(auto node, sprawl::node::Node::Start(node_config));
    auto handle = std::make_unique<sprawl_node_t>();
    handle->client_address = node->client_endpoint();
    handle->http_address = "http://" + node_config.bind + ":" + std::to_string(node->http_port());
    handle->peer_address = node->peer_endpoint();
    {
      sprawl::MutexLock lock(handle->mu);  // uncontended: the handle is not shared yet
      handle->node = std::move(node);
    }
    *out = handle.release();
    return sprawl::Status::Ok();
  });
}

const char* sprawl_node_client_address(const sprawl_node_t* node) {
  return node == nullptr ? nullptr : node->client_address.c_str();
}

const char* sprawl_node_http_address(const sprawl_node_t* node) {
  return node == nullptr ? nullptr : node->http_address.c_str();
}

const char* sprawl_node_peer_address(const sprawl_node_t* node) {
  return node == nullptr ? nullptr : node->peer_address.c_str();
}

sprawl_status_t sprawl_node_stop(sprawl_node_t* node, sprawl_error_t** err) {
  using namespace sprawl::cabi;
  if (node == nullptr) return NullArgument(err, "node");
  return Guard(err, [&]() -> sprawl::Status {
    sprawl::MutexLock lock(node->mu);
    if (node->node) node->node->Stop();
    return sprawl::Status::Ok();
  });
}

void sprawl_node_destroy(sprawl_node_t** node) {
  if (node == nullptr || *node == nullptr) return;
  (void)sprawl_node_stop(*node, nullptr);
  delete *node;
  *node = nullptr;
}

}  // extern "C"
