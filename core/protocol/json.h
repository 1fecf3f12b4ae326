#pragma once

#include <nlohmann/json.hpp>

#include "core/protocol/messages.h"
#include "core/util/result.h"

// JSON forms of protocol objects: what the HTTP API returns and sprawlctl
// prints with --json (docs/http-api.md). Numbers stay numbers.
namespace sprawl::protocol {

nlohmann::json ToJson(const pb::TopicConfig& config);
nlohmann::json ToJson(const pb::TopicDescription& topic);
nlohmann::json ToJson(const pb::GroupDescription& group);

// A topic config from JSON: the known fields that are present.
// INVALID_ARGUMENT for an unknown field or a value of the wrong type.
Result<pb::TopicConfig> TopicConfigFromJson(const nlohmann::json& json);

}  // namespace sprawl::protocol
