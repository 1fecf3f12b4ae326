#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/broker/broker.h"
#include "core/meta/meta_service.h"
#include "core/replica/partition_replicas.h"
#include "core/util/result.h"

namespace sprawl::node {

// A reply body and the batch frames that follow it.
struct EncodedReply {
  std::string body;
  broker::Batches batches;
};

using ReplyFn = std::function<void(Result<EncodedReply>)>;

// Turns a decoded request (message type, protobuf body bytes, batch frames)
// into a broker call and its reply into bytes. Knows nothing of sockets, so
// the protocol's semantics are tested without them. Runs on the loop thread.
class RequestDispatcher {
 public:
  // `broker` must outlive the dispatcher. `node_id`/`version` answer PING.
  RequestDispatcher(broker::Broker& broker, std::string node_id, const Clock& clock);

  // Handles one request; `reply` runs exactly once, now or later (publish
  // acks, long polls), on the loop thread. INVALID_ARGUMENT for an unknown
  // type or a body that does not decode as the type's request.
  // `connection` identifies the sender (group deliveries are pushed to it).
  void Dispatch(uint16_t type, std::string_view body, std::vector<std::string> frames,
                const std::string& connection, ReplyFn reply);

  // Topic create, alter and delete go to the cluster's metadata group
  // through `meta`, which must outlive the dispatcher. Before the loop runs.
  void SetMeta(meta::MetaService* meta) { meta_ = meta; }
  // METADATA is answered from `replicas` (which must outlive the
  // dispatcher); without them every partition is served here.
  void SetReplicas(replica::PartitionReplicas* replicas) { replicas_ = replicas; }

 private:
  broker::Broker& broker_;
  meta::MetaService* meta_ = nullptr;
  replica::PartitionReplicas* replicas_ = nullptr;
  std::string node_id_;
  const Clock& clock_;
  int64_t started_nanos_;
};

}  // namespace sprawl::node
