#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/util/metrics.h"
#include "core/util/result.h"

namespace sprawl::admin {

struct HttpRequest {
  std::string method;                         // "GET", "POST", ...
  std::string path;                           // without the query string
  std::map<std::string, std::string> query;   // percent-decoded
  std::map<std::string, std::string> params;  // {name} segments of the route
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Sends the response of one request. Callable once, from any thread; later
// calls are ignored. If never called, the connection is closed when the
// server stops.
using Responder = std::function<void(HttpResponse)>;
using Handler = std::function<void(HttpRequest, Responder)>;

// Routes by method and path pattern ("/v1/topics/{topic}"); unknown paths
// get 404 and known paths with another method 405, both as JSON errors.
class Router {
 public:
  void Add(const std::string& method, const std::string& pattern, Handler handler);
  // Finds the handler and fills `request.params`; nullptr with `status` 404/405.
  const Handler* Match(HttpRequest& request, int* status, std::string* allow) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

struct HttpServerOptions {
  std::string bind = "127.0.0.1";
  uint16_t port = 0;                 // 0 = any free port
  size_t max_body_bytes = 4u << 20;  // larger bodies get 413
  size_t max_connections = 1024;     // more are closed at once
  int idle_timeout_seconds = 60;
};

// The HTTP/1.1 admin server (Boost.Beast) on a thread of its own, so HTTP
// I/O never blocks the node's event loop. Handlers run on that thread and
// may answer later from any thread (long polls, work on the event loop).
class HttpServer {
 public:
  // Binds and starts serving. IO_ERROR when the address cannot be bound.
  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options, Router router,
                                                   metrics::Registry& registry);
  // Stop()s.
  ~HttpServer();
  // Closes the listener and every connection and joins the thread. Idempotent.
  void Stop();

  uint16_t port() const { return port_; }

  struct Impl;  // Beast state, in http_server.cc

 private:
  HttpServer() = default;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

// A JSON error body {"error": {"code", "code_number", "message", "retriable"}}
// with the HTTP status for its code (HttpStatusFor).
HttpResponse ErrorResponse(const Status& status);
// The HTTP status of an error code: INVALID_ARGUMENT 400, NOT_FOUND 404,
// ALREADY_EXISTS 409, MESSAGE_TOO_LARGE 413, RETRY_AFTER and
// RESOURCE_EXHAUSTED 429, TIMEOUT 504, CLOSED 503, UNKNOWN_MEMBER 404,
// OFFSET_OUT_OF_RANGE 416, NOT_LEADER 421, the rest 500.
int HttpStatusFor(ErrorCode code);

}  // namespace sprawl::admin
