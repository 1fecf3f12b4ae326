// The settings a sprawl_config_t may hold: which object each key belongs
// to, how its value is checked, and typed readers for the objects.
#pragma once

#include <cstdint>
#include <string>

#include "handles.h"

namespace sprawl::cabi {

enum class Scope { kNode, kClient, kConsumer, kTopic };

// INVALID_ARGUMENT naming the key when no object knows it or `value` does
// not parse for it.
Status CheckSetting(const std::string& key, const std::string& value);

// INVALID_ARGUMENT naming the first key of `config` that does not belong to
// `scope` (so a consumer setting given to a client is not silently ignored).
Status CheckScope(const sprawl_config_t* config, Scope scope);

// Typed lookups; values were checked when they were set.
std::optional<std::string> Get(const sprawl_config_t* config, const std::string& key);
uint64_t GetUint(const sprawl_config_t* config, const std::string& key, uint64_t fallback);
bool GetBool(const sprawl_config_t* config, const std::string& key, bool fallback);

}  // namespace sprawl::cabi
