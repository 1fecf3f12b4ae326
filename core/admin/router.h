#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/admin/http_message.h"

namespace sprawl::admin {

// The outcome of routing one request.
struct RouteMatch {
  const Handler* handler = nullptr;  // null when no route takes this method and path
  std::string pattern;               // the matched route's pattern, e.g. "/v1/topics/{topic}"
  std::map<std::string, std::string> params;  // the {name} segments' values
  int status = 200;                           // 404 (unknown path) or 405 when handler is null
  std::string allow;                          // with 405: the path's methods, "GET, POST"
};

// Maps method + path pattern to handlers. Hand-written: Beast has no router
// and no packaged C++ router fits a few dozen admin routes. A pattern is '/'-separated literal
// segments and {name} segments that match any one non-empty segment
// ("/v1/topics/{topic}/partitions"). When several patterns match a path, the
// most specific wins: the one with a literal where the others have {name},
// comparing from the left. Build it before HttpServer::Start; the server
// copies it and never changes it, so Match is then safe from its thread.
class Router {
 public:
  // Registers `handler` for `method` (upper case, e.g. "GET") on `pattern`. A
  // pattern not starting with '/', a malformed or repeated {name}, or the same
  // method and pattern twice is a programming error: it writes a message to
  // stderr and aborts, like metrics::Registry, so the first test catches it.
  void Add(const std::string& method, const std::string& pattern, Handler handler);

  // Routes decoded path `segments` (RequestTarget::segments) for `method`.
  RouteMatch Match(std::string_view method, const std::vector<std::string>& segments) const;

  // Every registered pattern, for listing and tests; in registration order, with repeats for
  // patterns registered under several methods.
  std::vector<std::string> Patterns() const;

 private:
  struct Segment {
    std::string text;  // the literal, or the parameter's name
    bool param = false;
  };
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<Segment> segments;
    Handler handler;
  };

  // Whether `route` matches `segments`; fills `params` when it does.
  static bool Matches(const Route& route, const std::vector<std::string>& segments,
                      std::map<std::string, std::string>* params);
  // Whether `a` is more specific than `b` (both matching the same path).
  static bool MoreSpecific(const Route& a, const Route& b);

  std::vector<Route> routes_;
};

}  // namespace sprawl::admin
