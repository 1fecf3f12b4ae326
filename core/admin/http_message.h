#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sprawl::admin {

// One HTTP request as a handler sees it: fully read (body included) and
// decoded. Owned by the handler.
struct HttpRequest {
  std::string method;                        // "GET", "POST", ... as sent
  std::string path;                          // percent-decoded, without the query string
  std::map<std::string, std::string> query;  // percent-decoded; a repeated key keeps its last value
  std::map<std::string, std::string> params;   // the {name} segments of the matched route
  std::map<std::string, std::string> headers;  // names lower-cased; repeats joined with ", "
  std::string body;

  // The value of header `name` (any case), or "" when absent.
  std::string Header(std::string_view name) const;
};

// One HTTP response. `headers` are added as given (Content-Type, Content-Length,
// Connection and Server are set by the server).
struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Sends the response of one request. Copyable; every copy answers the same
// request. Thread-safe: call it from any thread (the write is posted onto the
// server's thread). The first call wins; later calls are ignored on purpose,
// so a long poll may race its timer against new data without coordination.
// If every copy is destroyed without a call, the client gets a 500 INTERNAL
// error. Calls after the server stopped, or after the client went away, do
// nothing.
using Responder = std::function<void(HttpResponse)>;

// Handles one request on the server's thread. It must not block: it answers
// through the Responder now, or hands it to another thread (the node's event
// loop, a long-poll timer) that answers later. An exception it throws becomes
// a 500 INTERNAL error.
using Handler = std::function<void(HttpRequest, Responder)>;

}  // namespace sprawl::admin
