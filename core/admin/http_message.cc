#include "core/admin/http_message.h"

#include <algorithm>
#include <cctype>

namespace sprawl::admin {

std::string HttpRequest::Header(std::string_view name) const {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto it = headers.find(lower);
  return it == headers.end() ? std::string() : it->second;
}

}  // namespace sprawl::admin
