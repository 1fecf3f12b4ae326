#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/util/result.h"

namespace sprawl::admin {

// Hand-written: Boost.URL would do this but arrives in Boost 1.81, and Debian
// ships 1.74. Only what the admin API needs: origin-form targets and
// application/x-www-form-urlencoded query strings.

// A request target ("/v1/topics/a%20b?wait_ms=10") split and decoded.
struct RequestTarget {
  std::string path;                          // decoded, e.g. "/v1/topics/a b"
  std::vector<std::string> segments;         // decoded non-empty segments: {"v1", "topics", "a b"}
  std::map<std::string, std::string> query;  // decoded; a repeated key keeps its last value
};

// Decodes %XX escapes; with `plus_is_space` (query strings) also '+' as a space.
// INVALID_ARGUMENT for a '%' not followed by two hex digits.
Result<std::string> PercentDecode(std::string_view text, bool plus_is_space);

// Parses an origin-form target (it must start with '/'). Each path segment is
// decoded after splitting, so "%2F" stays inside its segment. Empty segments
// ("//", a trailing '/') are dropped. INVALID_ARGUMENT for other forms and bad
// escapes.
Result<RequestTarget> ParseRequestTarget(std::string_view target);

}  // namespace sprawl::admin
