// The client: open/close and the admin calls.
#include <nlohmann/json.hpp>

#include "core/protocol/json.h"
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
        json[key] = static_cast<int64_t>(GetUint(config, key, 0));
      }
    }
  }
  return protocol::TopicConfigFromJson(json);
}

// Runs `body` with the client open (shared), or fails with CLOSED.
template <typename Body>
sprawl_status_t WithClient(sprawl_client_t* client, sprawl_error_t** err, Body&& body) {
  if (client == nullptr) return NullArgument(err, "client");
  return Guard(err, [&]() -> Status {
    std::shared_lock lock(client->lifecycle);
    if (client->closed) return ClosedClient();
    return body();
  });
}

}  // namespace

// Shared with publish.cc and consumer.cc.
sprawl_status_t RunOnOpenClient(sprawl_client_t* client, sprawl_error_t** err,
                                const std::function<Status()>& body) {
  return WithClient(client, err, body);
}

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
    } else {
      pc.acks = sprawl::client::pb::ACK_ALL;  // the product's default (DESIGN.md)
    }
    pc.linger = std::chrono::milliseconds(
        GetUint(config, "linger_ms", static_cast<uint64_t>(pc.linger.count())));
    pc.batch_bytes = GetUint(config, "batch_bytes", pc.batch_bytes);
    pc.max_buffered_bytes = GetUint(config, "buffer_bytes", pc.max_buffered_bytes);
    pc.idempotent = GetBool(config, "idempotent", pc.idempotent);
    pc.delivery_timeout = std::chrono::milliseconds(
        GetUint(config, "delivery_timeout_ms", static_cast<uint64_t>(pc.delivery_timeout.count())));
    // Without its own setting a full buffer is waited on as long as a record may take.
    pc.max_block = std::chrono::milliseconds(
        GetUint(config, "max_block_ms", static_cast<uint64_t>(pc.delivery_timeout.count())));
    SPRAWL_ASSIGN_OR_RETURN(auto connected, sprawl::client::Client::Connect(cc));
    auto handle = std::make_unique<sprawl_client_t>();
    handle->client = std::move(connected);
    handle->producer = std::make_unique<sprawl::client::Producer>(*handle->client, pc);
    handle->delivery_timeout = pc.delivery_timeout;
    handle->poll_mode = Get(config, "callback_mode").value_or("background") == "poll";
    *out = handle.release();
    return Status::Ok();
  });
}

sprawl_status_t sprawl_client_close(sprawl_client_t* client, int timeout_ms, sprawl_error_t** err) {
  if (client == nullptr) return NullArgument(err, "client");
  return Guard(err, [&]() -> Status {
    {
      // Taken exclusively once: calls in progress finish first, later ones
      // see `closed`. Not held while flushing, so a delivery callback that
      // publishes gets CLOSED instead of a deadlock.
      std::unique_lock lock(client->lifecycle);
      if (client->closed) return Status::Ok();
      client->closed = true;
    }
    Status flushed = client->producer->Flush(
        timeout_ms < 0 ? client->delivery_timeout : std::chrono::milliseconds(timeout_ms));
    client->producer->Close();  // fails what is left with CLOSED
    client->client->connection().Close();
    // Poll mode: callbacks still queued run at the caller's next poll.
    return flushed;
  });
}

void sprawl_client_destroy(sprawl_client_t** client) {
  if (client == nullptr || *client == nullptr) return;
  (void)sprawl_client_close(*client, -1, nullptr);
  // Callbacks never polled still own user data: release it.
  {
    std::lock_guard lock((*client)->poll_mu);
    (*client)->due.clear();
  }
  delete *client;
  *client = nullptr;
}

sprawl_status_t sprawl_topic_create(sprawl_client_t* client, const char* topic,
                                    const sprawl_config_t* config, char** json_out,
                                    sprawl_error_t** err) {
  return RunOnOpenClient(client, err, [&]() -> Status {
    SPRAWL_ASSIGN_OR_RETURN(std::string name, StringArgument(topic, "topic"));
    SPRAWL_ASSIGN_OR_RETURN(auto topic_config, TopicConfigFrom(config));
    SPRAWL_ASSIGN_OR_RETURN(auto described, client->client->CreateTopic(name, topic_config));
    ReturnString(json_out, sprawl::protocol::ToJson(described).dump());
    return Status::Ok();
  });
}

sprawl_status_t sprawl_topic_alter(sprawl_client_t* client, const char* topic,
                                   const sprawl_config_t* config, char** json_out,
                                   sprawl_error_t** err) {
  return RunOnOpenClient(client, err, [&]() -> Status {
    SPRAWL_ASSIGN_OR_RETURN(std::string name, StringArgument(topic, "topic"));
    SPRAWL_ASSIGN_OR_RETURN(auto patch, TopicConfigFrom(config));
    SPRAWL_ASSIGN_OR_RETURN(auto described, client->client->AlterTopic(name, patch));
    ReturnString(json_out, sprawl::protocol::ToJson(described).dump());
    return Status::Ok();
  });
}

sprawl_status_t sprawl_topic_describe(sprawl_client_t* client, const char* topic, char** json_out,
                                      sprawl_error_t** err) {
  return RunOnOpenClient(client, err, [&]() -> Status {
    SPRAWL_ASSIGN_OR_RETURN(std::string name, StringArgument(topic, "topic"));
    SPRAWL_ASSIGN_OR_RETURN(auto described, client->client->DescribeTopic(name));
    ReturnString(json_out, sprawl::protocol::ToJson(described).dump());
    return Status::Ok();
  });
}

sprawl_status_t sprawl_topic_list(sprawl_client_t* client, char** json_out, sprawl_error_t** err) {
  return RunOnOpenClient(client, err, [&]() -> Status {
    SPRAWL_ASSIGN_OR_RETURN(auto topics, client->client->ListTopics());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& t : topics) list.push_back(sprawl::protocol::ToJson(t));
    ReturnString(json_out, list.dump());
    return Status::Ok();
  });
}

sprawl_status_t sprawl_topic_delete(sprawl_client_t* client, const char* topic,
                                    sprawl_error_t** err) {
  return RunOnOpenClient(client, err, [&]() -> Status {
    SPRAWL_ASSIGN_OR_RETURN(std::string name, StringArgument(topic, "topic"));
    return client->client->DeleteTopic(name);
  });
}

sprawl_status_t sprawl_group_list(sprawl_client_t* client, const char* topic, char** json_out,
                                  sprawl_error_t** err) {
  return RunOnOpenClient(client, err, [&]() -> Status {
    std::string name;
    if (topic != nullptr && topic[0] != '\0') {
      SPRAWL_ASSIGN_OR_RETURN(name, StringArgument(topic, "topic"));
    }
    SPRAWL_ASSIGN_OR_RETURN(auto groups, client->client->ListGroups(name));
    nlohmann::json list = nlohmann::json::array();
    for (const auto& g : groups) list.push_back(sprawl::protocol::ToJson(g));
    ReturnString(json_out, list.dump());
    return Status::Ok();
  });
}

sprawl_status_t sprawl_group_describe(sprawl_client_t* client, const char* topic, const char* group,
                                      char** json_out, sprawl_error_t** err) {
  return RunOnOpenClient(client, err, [&]() -> Status {
    SPRAWL_ASSIGN_OR_RETURN(std::string t, StringArgument(topic, "topic"));
    SPRAWL_ASSIGN_OR_RETURN(std::string g, StringArgument(group, "group"));
    SPRAWL_ASSIGN_OR_RETURN(auto described, client->client->DescribeGroup(t, g));
    ReturnString(json_out, sprawl::protocol::ToJson(described).dump());
    return Status::Ok();
  });
}

}  // extern "C"
