#include "core/admin/router.h"

#include <cstdio>
#include <cstdlib>
#include <set>

namespace sprawl::admin {
namespace {

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "sprawl::admin::Router: %s\n", message.c_str());
  std::abort();
}

}  // namespace

void Router::Add(const std::string& method, const std::string& pattern, Handler handler) {
  if (method.empty()) Die("empty method for pattern '" + pattern + "'");
  if (pattern.empty() || pattern.front() != '/') {
    Die("pattern '" + pattern + "' must start with '/'");
  }
  if (!handler) Die("empty handler for " + method + " " + pattern);
  Route route{method, pattern, {}, std::move(handler)};
  std::set<std::string> names;
  size_t begin = 1;
  while (begin <= pattern.size()) {
    size_t end = pattern.find('/', begin);
    if (end == std::string::npos) end = pattern.size();
    const std::string part = pattern.substr(begin, end - begin);
    begin = end + 1;
    if (part.empty()) continue;
    const bool opens = part.front() == '{';
    const bool closes = part.back() == '}';
    if (opens || closes || part.find_first_of("{}") != std::string::npos) {
      const std::string name = part.size() >= 2 ? part.substr(1, part.size() - 2) : "";
      if (!opens || !closes || name.empty() || name.find_first_of("{}") != std::string::npos) {
        Die("malformed segment '" + part + "' in pattern '" + pattern + "'");
      }
      if (!names.insert(name).second) {
        Die("parameter {" + name + "} repeats in pattern '" + pattern + "'");
      }
      route.segments.push_back({name, true});
    } else {
      route.segments.push_back({part, false});
    }
  }
  for (const Route& existing : routes_) {
    if (existing.method != method || existing.segments.size() != route.segments.size()) continue;
    bool same = true;
    for (size_t i = 0; i < route.segments.size() && same; ++i) {
      const Segment& a = existing.segments[i];
      const Segment& b = route.segments[i];
      same = a.param == b.param && (a.param || a.text == b.text);
    }
    if (same) Die(method + " " + pattern + " is registered twice (as " + existing.pattern + ")");
  }
  routes_.push_back(std::move(route));
}

bool Router::Matches(const Route& route, const std::vector<std::string>& segments,
                     std::map<std::string, std::string>* params) {
  if (route.segments.size() != segments.size()) return false;
  for (size_t i = 0; i < segments.size(); ++i) {
    const Segment& s = route.segments[i];
    if (!s.param && s.text != segments[i]) return false;
  }
  params->clear();
  for (size_t i = 0; i < segments.size(); ++i) {
    if (route.segments[i].param) (*params)[route.segments[i].text] = segments[i];
  }
  return true;
}

bool Router::MoreSpecific(const Route& a, const Route& b) {
  for (size_t i = 0; i < a.segments.size() && i < b.segments.size(); ++i) {
    if (a.segments[i].param != b.segments[i].param) return !a.segments[i].param;
  }
  return false;
}

RouteMatch Router::Match(std::string_view method, const std::vector<std::string>& segments) const {
  RouteMatch out;
  const Route* best = nullptr;
  std::set<std::string> allowed;
  std::map<std::string, std::string> params;
  for (const Route& route : routes_) {
    if (!Matches(route, segments, &params)) continue;
    allowed.insert(route.method);
    if (route.method != method) continue;
    if (best == nullptr || MoreSpecific(route, *best)) {
      best = &route;
      out.params = params;
    }
  }
  if (best != nullptr) {
    out.handler = &best->handler;
    out.pattern = best->pattern;
    return out;
  }
  out.params.clear();
  if (allowed.empty()) {
    out.status = 404;
    return out;
  }
  out.status = 405;
  for (const std::string& m : allowed) {
    if (!out.allow.empty()) out.allow += ", ";
    out.allow += m;
  }
  return out;
}

std::vector<std::string> Router::Patterns() const {
  std::vector<std::string> out;
  out.reserve(routes_.size());
  for (const Route& route : routes_) out.push_back(route.pattern);
  return out;
}

}  // namespace sprawl::admin
