#include <sstream>

#include "core/admin/http_server.h"

namespace sprawl::admin {
namespace {

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  std::string part;
  std::istringstream in(path);
  while (std::getline(in, part, '/')) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

}  // namespace

void Router::Add(const std::string& method, const std::string& pattern, Handler handler) {
  routes_.push_back({method, Split(pattern), std::move(handler)});
}

const Handler* Router::Match(HttpRequest& request, int* status, std::string* allow) const {
  const std::vector<std::string> segments = Split(request.path);
  const Handler* found = nullptr;
  bool path_known = false;
  for (const Route& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    std::map<std::string, std::string> params;
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      const std::string& s = route.segments[i];
      if (s.size() > 2 && s.front() == '{' && s.back() == '}') {
        params[s.substr(1, s.size() - 2)] = segments[i];
      } else {
        match = s == segments[i];
      }
    }
    if (!match) continue;
    path_known = true;
    if (!allow->empty()) *allow += ", ";
    *allow += route.method;
    if (route.method == request.method && found == nullptr) {
      found = &route.handler;
      request.params = std::move(params);
    }
  }
  if (found == nullptr) *status = path_known ? 405 : 404;
  return found;
}

}  // namespace sprawl::admin
