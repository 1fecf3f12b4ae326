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
// INVALID_ARGUMENT, naming the field, for an unknown field, a value of the
// wrong type, a negative number or one too large for the field.
Result<pb::TopicConfig> TopicConfigFromJson(const nlohmann::json& json);

}  // namespace sprawl::protocol
