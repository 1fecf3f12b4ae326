#include "settings.h"

#include <charconv>
#include <vector>

#include "core/client/offset_consumer.h"
#include "core/storage/store_options.h"

namespace sprawl::cabi {
namespace {

enum class Kind { kString, kUint, kBool, kAcks, kStorage, kFsync, kStart, kCallbackMode };

struct Setting {
  const char* key;
  Scope scope;
  Kind kind;
  uint64_t max = UINT64_MAX;  // for kUint
};

// Every key, documented in docs/c-api.md ("Settings").
const std::vector<Setting>& Settings() {
  static const std::vector<Setting> settings = {
      {"node_id", Scope::kNode, Kind::kString},
      {"data_dir", Scope::kNode, Kind::kString},
      {"storage", Scope::kNode, Kind::kStorage},
      {"fsync", Scope::kNode, Kind::kFsync},
      {"bind", Scope::kNode, Kind::kString},
      {"client_port", Scope::kNode, Kind::kUint, 65535},
      {"http_port", Scope::kNode, Kind::kUint, 65535},
      {"peer_port", Scope::kNode, Kind::kUint, 65535},
      {"memory_bytes_per_partition", Scope::kNode, Kind::kUint},
      {"memory_tier_bytes", Scope::kNode, Kind::kUint},
      {"max_pending_publish_bytes", Scope::kNode, Kind::kUint},
      {"join", Scope::kNode, Kind::kString},
      {"rack", Scope::kNode, Kind::kString},
      {"gossip_probe_interval_ms", Scope::kNode, Kind::kUint, 60'000},
      {"gossip_probe_timeout_ms", Scope::kNode, Kind::kUint, 60'000},
      {"gossip_push_pull_interval_ms", Scope::kNode, Kind::kUint, 3'600'000},
      {"server", Scope::kClient, Kind::kString},
      {"request_timeout_ms", Scope::kClient, Kind::kUint, 3'600'000},
      {"delivery_timeout_ms", Scope::kClient, Kind::kUint, 3'600'000},
      {"acks", Scope::kClient, Kind::kAcks},
      {"linger_ms", Scope::kClient, Kind::kUint, 60'000},
      {"batch_bytes", Scope::kClient, Kind::kUint, 64u << 20},
      {"buffer_bytes", Scope::kClient, Kind::kUint},
      {"max_block_ms", Scope::kClient, Kind::kUint, 3'600'000},
      {"idempotent", Scope::kClient, Kind::kBool},
      {"producer_name", Scope::kClient, Kind::kString},
      {"callback_mode", Scope::kClient, Kind::kCallbackMode},
      {"topic", Scope::kConsumer, Kind::kString},
      {"group", Scope::kConsumer, Kind::kString},
      {"start", Scope::kConsumer, Kind::kStart},
      {"partition", Scope::kConsumer, Kind::kUint, UINT32_MAX},
      {"auto_ack", Scope::kConsumer, Kind::kBool},
      {"max_in_flight", Scope::kConsumer, Kind::kUint, 1'000'000},
      {"max_in_flight_bytes", Scope::kConsumer, Kind::kUint, uint64_t{1} << 30},
      {"session_timeout_ms", Scope::kConsumer, Kind::kUint, 3'600'000},
      {"client_name", Scope::kConsumer, Kind::kString},
      {"partitions", Scope::kTopic, Kind::kUint, UINT32_MAX},
      {"retention_ms", Scope::kTopic, Kind::kUint, INT64_MAX},
      {"retention_bytes", Scope::kTopic, Kind::kUint},
      {"max_message_bytes", Scope::kTopic, Kind::kUint, UINT32_MAX},
      {"ack_timeout_ms", Scope::kTopic, Kind::kUint, UINT32_MAX},
      {"max_deliveries", Scope::kTopic, Kind::kUint, UINT32_MAX},
      {"dead_letter_topic", Scope::kTopic, Kind::kString},
      {"message_ttl_ms", Scope::kTopic, Kind::kUint, INT64_MAX},
      {"replication_factor", Scope::kTopic, Kind::kUint, UINT32_MAX},
  };
  return settings;
}

const Setting* Find(const std::string& key) {
  for (const Setting& s : Settings()) {
    if (key == s.key) return &s;
  }
  return nullptr;
}

const char* ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kNode:
      return "a node";
    case Scope::kClient:
      return "a client";
    case Scope::kConsumer:
      return "a consumer";
    case Scope::kTopic:
      return "a topic";
  }
  return "";
}

bool ParseUint(const std::string& text, uint64_t* out) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return !text.empty() && error == std::errc() && end == text.data() + text.size();
}

}  // namespace

Status CheckSetting(const std::string& key, const std::string& value) {
  const Setting* s = Find(key);
  if (s == nullptr) {
    return InvalidArgument("unknown setting '" + key + "' (docs/c-api.md lists them)");
  }
  auto bad = [&](const std::string& expected) {
    return InvalidArgument("setting '" + key + "' must be " + expected + ", not '" + value + "'");
  };
  uint64_t number = 0;
  switch (s->kind) {
    case Kind::kString:
      if (value.find('\0') != std::string::npos) return bad("text without NUL bytes");
      return Status::Ok();
    case Kind::kUint:
      if (!ParseUint(value, &number) || number > s->max) {
        return bad("a whole number from 0 to " + std::to_string(s->max));
      }
      return Status::Ok();
    case Kind::kBool:
      return value == "true" || value == "false" ? Status::Ok() : bad("true or false");
    case Kind::kAcks:
      return value == "none" || value == "leader" || value == "all" ? Status::Ok()
                                                                    : bad("none, leader or all");
    case Kind::kStorage:
      return storage::ParseStorageMode(value).ok() ? Status::Ok() : bad("memory or disk");
    case Kind::kFsync:
      return storage::FsyncPolicy::Parse(value).ok() ? Status::Ok()
                                                     : bad("always, never or interval:<ms>");
    case Kind::kStart:
      return client::StartPosition::Parse(value).ok()
                 ? Status::Ok()
                 : bad("earliest, latest, an offset or @<timestamp ms>");
    case Kind::kCallbackMode:
      return value == "background" || value == "poll" ? Status::Ok() : bad("background or poll");
  }
  return Status::Ok();
}

Status CheckScope(const sprawl_config_t* config, Scope scope) {
  if (config == nullptr) return Status::Ok();
  for (const auto& [key, value] : config->values) {
    const Setting* s = Find(key);
    if (s != nullptr && s->scope != scope) {
      return InvalidArgument("setting '" + key + "' is for " + ScopeName(s->scope) + ", not " +
                             ScopeName(scope));
    }
  }
  return Status::Ok();
}

std::optional<std::string> Get(const sprawl_config_t* config, const std::string& key) {
  if (config == nullptr) return std::nullopt;
  auto it = config->values.find(key);
  if (it == config->values.end()) return std::nullopt;
  return it->second;
}

uint64_t GetUint(const sprawl_config_t* config, const std::string& key, uint64_t fallback) {
  auto text = Get(config, key);
  uint64_t value = fallback;
  if (text && !ParseUint(*text, &value)) return fallback;
  return value;
}

bool GetBool(const sprawl_config_t* config, const std::string& key, bool fallback) {
  auto text = Get(config, key);
  return text ? *text == "true" : fallback;
}

}  // namespace sprawl::cabi

extern "C" {

sprawl_config_t* sprawl_config_new(void) { return new (std::nothrow) sprawl_config_t(); }

sprawl_status_t sprawl_config_set(sprawl_config_t* config, const char* key, const char* value,
                                  sprawl_error_t** err) {
  using namespace sprawl::cabi;
  if (config == nullptr) return NullArgument(err, "config");
  if (value == nullptr) return NullArgument(err, "value");
  return Guard(err, [&]() -> sprawl::Status {
    SPRAWL_ASSIGN_OR_RETURN(std::string name, StringArgument(key, "setting name"));
    SPRAWL_RETURN_IF_ERROR(CheckSetting(name, value));
    config->values[name] = value;
    return sprawl::Status::Ok();
  });
}

void sprawl_config_destroy(sprawl_config_t** config) {
  if (config == nullptr) return;
  delete *config;
  *config = nullptr;
}

}  // extern "C"
