#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/util/result.h"

namespace sprawl::ctl {

// GET `path` from the node's HTTP admin API at `base` ("http://host:port")
// and parse the JSON body. IO_ERROR when the node cannot be reached, the
// API's own error (code and message) for a non-2xx answer.
Result<nlohmann::json> HttpGetJson(const std::string& base, const std::string& path,
                                   int timeout_ms);

}  // namespace sprawl::ctl
