// The client: open/close and the admin calls.
#include <nlohmann/json.hpp>

#include "core/protocol/json.h"
#include "core/storage/producer_identity.h"
#include "handles.h"
#include "settings.h"

namespace sprawl::cabi {
namespace {

Result<protocol::pb::TopicConfig> TopicConfigFrom(const sprawl_config_t* config) {
  SPRAWL_RETURN_IF_ERROR(CheckScope(config, Scope::kTopic));
  nlohmann::json json = nlohmann::json::object();
  if (config != nullptr) {
    for (const auto& [key, value] : config->values) {
      if (key == "dead_letter_topic") {
        json[key] = value;
      } else {
        json[key] = GetUint(config, key, 0);
      }
    }
  }
  return protocol::TopicConfigFromJson(json);
}

}  // namespace

sprawl_status_t RunOnOpenClient(sprawl_client_t* client, sprawl_error_t** err,
                                const std::function<Status(ClientState&)>& body) {
  if (client == nullptr) return NullArgument(err, "client");
  return Guard(err, [&]() -> Status {
    ClientState& state = *client->state;
    if (state.closed) return ClosedClient();
    return body(state);
  });
}

namespace {

// sprawl_client_close: see sprawl.h. Consumers are woken before anything
// waits, so a receive blocked on another thread never holds close up.
Status CloseClient(ClientState& state, int timeout_ms) {
  if (state.closed.exchange(true)) return Status::Ok();
  {
    sprawl::MutexLock lock(state.consumers_mu);
    for (sprawl_consumer* consumer : state.consumers) {
      if (consumer->group) {
        consumer->group->Interrupt();  // leaving needs the connection, which goes
      } else {
        consumer->offsets->Close();
      }
    }
  }
  // Publishes that saw the client open finish queueing first, so the flush
  // covers them. Not held while flushing: a delivery callback that publishes
  // gets CLOSED instead of a deadlock.
  { sprawl::WriterLock barrier(state.lifecycle); }
  Status flushed = state.producer->Flush(timeout_ms < 0 ? state.delivery_timeout
                                                        : std::chrono::milliseconds(timeout_ms));
  // Past the timeout nothing more is waited for: closing the connection
  // fails the requests still in flight with CLOSED, and the producer then
  // fails what it still holds.
  if (!flushed.ok()) state.client->connection().Close();
  state.producer->Close(std::chrono::milliseconds(0));
  state.client->connection().Close();
  // Poll mode: callbacks still queued run at the caller's next poll; a poll
  // waiting for one stops waiting.
  {
    sprawl::MutexLock lock(state.poll_mu);
    state.close_done = true;
  }
  state.poll_cv.notify_all();
  return flushed;
}

}  // namespace

}  // namespace sprawl::cabi

extern "C" {

using sprawl::Result;
using sprawl::Status;
using namespace sprawl::cabi;

sprawl_status_t sprawl_client_open(const sprawl_config_t* config, sprawl_client_t** out,
                                   sprawl_error_t** err) {
  if (out == nullptr) return NullArgument(err, "out");
  *out = nullptr;
  return Guard(err, [&]() -> Status {
    SPRAWL_RETURN_IF_ERROR(CheckScope(config, Scope::kClient));
    sprawl::client::ClientConfig cc;
    if (auto v = Get(config, "server")) cc.server = *v;
    cc.request_timeout = std::chrono::milliseconds(
        GetUint(config, "request_timeout_ms", static_cast<uint64_t>(cc.request_timeout.count())));
    if (cc.request_timeout.count() == 0) {
      return sprawl::InvalidArgument("setting 'request_timeout_ms' must be above 0");
    }
    sprawl::client::ProducerConfig pc;
    if (auto v = Get(config, "acks")) {
      pc.acks = *v == "none"     ? sprawl::client::pb::ACK_NONE
                : *v == "leader" ? sprawl::client::pb::ACK_LEADER
                                 : sprawl::client::pb::ACK_ALL;
    }  // else the producer's default, `all` (docs/configuration.md says why)
    pc.linger = std::chrono::milliseconds(
        GetUint(config, "linger_ms", static_cast<uint64_t>(pc.linger.count())));
    pc.batch_bytes = GetUint(config, "batch_bytes", pc.batch_bytes);
    pc.max_buffered_bytes = GetUint(config, "buffer_bytes", pc.max_buffered_bytes);
    pc.idempotent = GetBool(config, "idempotent", pc.idempotent);
    if (auto v = Get(config, "producer_name")) {
      if (v->empty() || v->size() > sprawl::storage::kMaxProducerNameBytes) {
        return sprawl::InvalidArgument("setting 'producer_name' must have 1 to 255 bytes");
      }
      if (!pc.idempotent) {
        return sprawl::InvalidArgument(
            "setting 'producer_name' needs 'idempotent' (a named producer is fenced by its "
            "epoch, which only idempotent batches carry)");
      }
      pc.name = *v;
    }
    pc.delivery_timeout = std::chrono::milliseconds(
        GetUint(config, "delivery_timeout_ms", static_cast<uint64_t>(pc.delivery_timeout.count())));
    // Without its own setting a full buffer is waited on as long as a record may take.
    pc.max_block = std::chrono::milliseconds(
        GetUint(config, "max_block_ms", static_cast<uint64_t>(pc.delivery_timeout.count())));
    SPRAWL_ASSIGN_OR_RETURN(auto connected, sprawl::client::Client::Connect(cc));
    auto state = std::make_shared<ClientState>();
    state->client = std::move(connected);
    state->producer = std::make_unique<sprawl::client::Producer>(*state->client, pc);
    state->delivery_timeout = pc.delivery_timeout;
    state->poll_mode = Get(config, "callback_mode").value_or("background") == "poll";
    state->offsets_known = pc.acks != sprawl::client::pb::ACK_NONE;
    auto handle = std::make_unique<sprawl_client_t>();
    handle->state = std::move(state);
    *out = handle.release();
    return Status::Ok();
  });
}

sprawl_status_t sprawl_client_close(sprawl_client_t* client, int timeout_ms, sprawl_error_t** err) {
  if (client == nullptr) return NullArgument(err, "client");
  return Guard(err, [&]() -> Status { return CloseClient(*client->state, timeout_ms); });
}

void sprawl_client_destroy(sprawl_client_t** client) {
  if (client == nullptr || *client == nullptr) return;
  (void)sprawl_client_close(*client, -1, nullptr);
  // Callbacks never polled still own user data: release it (outside the
  // lock, since free_user_data is the caller's code).
  std::deque<std::function<void()>> unpolled;
  {
    sprawl::MutexLock lock((*client)->state->poll_mu);
    unpolled.swap((*client)->state->due);
  }
  unpolled.clear();
  // Consumers still open keep the state (closed) until they are destroyed.
  delete *client;
  *client = nullptr;
}

sprawl_status_t sprawl_topic_create(sprawl_client_t* client, const char* topic,
                                    const sprawl_config_t* config, char** json_out,
                                    sprawl_error_t** err) {
  return RunOnOpenClient(client, err, [&](ClientState& state) -> Status {
    SPRAWL_ASSIGN_OR_RETURN(std::string name, StringArgument(topic, "topic"));
    SPRAWL_ASSIGN_OR_RETURN(auto topic_config, TopicConfigFrom(config));
    SPRAWL_ASSIGN_OR_RETURN(auto described, state.client->CreateTopic(name, topic_config));
    ReturnString(json_out, sprawl::protocol::ToJson(described).dump());
    return Status::Ok();
  });
}

sprawl_status_t sprawl_topic_alter(sprawl_client_t* client, const char* topic,
                                   const sprawl_config_t* config, char** json_out,
                                   sprawl_error_t** err) {
  return RunOnOpenClient(client, err, [&](ClientState& state) -> Status {
    SPRAWL_ASSIGN_OR_RETURN(std::string name, StringArgument(topic, "topic"));
    SPRAWL_ASSIGN_OR_RETURN(auto patch, TopicConfigFrom(config));
    SPRAWL_ASSIGN_OR_RETURN(auto described, state.client->AlterTopic(name, patch));
    ReturnString(json_out, sprawl::protocol::ToJson(described).dump());
    return Status::Ok();
  });
}

sprawl_status_t sprawl_topic_describe(sprawl_client_t* client, const char* topic, char** json_out,
                                      sprawl_error_t** err) {
  return RunOnOpenClient(client, err, [&](ClientState& state) -> Status {
    SPRAWL_ASSIGN_OR_RETURN(std::string name, StringArgument(topic, "topic"));
    SPRAWL_ASSIGN_OR_RETURN(auto described, state.client->DescribeTopic(name));
    ReturnString(json_out, sprawl::protocol::ToJson(described).dump());
    return Status::Ok();
  });
}

sprawl_status_t sprawl_topic_list(sprawl_client_t* client, char** json_out, sprawl_error_t** err) {
  return RunOnOpenClient(client, err, [&](ClientState& state) -> Status {
    SPRAWL_ASSIGN_OR_RETURN(auto topics, state.client->ListTopics());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& t : topics) list.push_back(sprawl::protocol::ToJson(t));
    ReturnString(json_out, list.dump());
    return Status::Ok();
  });
}

sprawl_status_t sprawl_topic_delete(sprawl_client_t* client, const char* topic,
                                    sprawl_error_t** err) {
  return RunOnOpenClient(client, err, [&](ClientState& state) -> Status {
    SPRAWL_ASSIGN_OR_RETURN(std::string name, StringArgument(topic, "topic"));
    return state.client->DeleteTopic(name);
  });
}

sprawl_status_t sprawl_group_list(sprawl_client_t* client, const char* topic, char** json_out,
                                  sprawl_error_t** err) {
  return RunOnOpenClient(client, err, [&](ClientState& state) -> Status {
    std::string name;
    if (topic != nullptr && topic[0] != '\0') {
      SPRAWL_ASSIGN_OR_RETURN(name, StringArgument(topic, "topic"));
    }
    SPRAWL_ASSIGN_OR_RETURN(auto groups, state.client->ListGroups(name));
    nlohmann::json list = nlohmann::json::array();
    for (const auto& g : groups) list.push_back(sprawl::protocol::ToJson(g));
    ReturnString(json_out, list.dump());
    return Status::Ok();
  });
}

sprawl_status_t sprawl_group_describe(sprawl_client_t* client, const char* topic, const char* group,
                                      char** json_out, sprawl_error_t** err) {
  return RunOnOpenClient(client, err, [&](ClientState& state) -> Status {
    SPRAWL_ASSIGN_OR_RETURN(std::string t, StringArgument(topic, "topic"));
    SPRAWL_ASSIGN_OR_RETURN(std::string g, StringArgument(group, "group"));
    SPRAWL_ASSIGN_OR_RETURN(auto described, state.client->DescribeGroup(t, g));
    ReturnString(json_out, sprawl::protocol::ToJson(described).dump());
    return Status::Ok();
  });
}

}  // extern "C"
