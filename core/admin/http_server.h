#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/admin/http_message.h"
#include "core/admin/responses.h"
#include "core/admin/router.h"
#include "core/util/metrics.h"
#include "core/util/result.h"

namespace sprawl::admin {

namespace internal {
class ServerCore;  // the Beast state, in http_server.cc
}  // namespace internal

struct HttpServerOptions {
  std::string bind = "127.0.0.1";       // an IPv4 or IPv6 address, not a host name
  uint16_t port = 0;                    // 0 = any free port; see HttpServer::port()
  size_t max_body_bytes = 4u << 20;     // larger bodies get 413 MESSAGE_TOO_LARGE
  size_t max_header_bytes = 16u << 10;  // larger request line + headers get 431
  size_t max_connections = 1024;        // more get a 503 and are closed
  int idle_timeout_seconds = 60;        // a connection silent this long (reading or writing) closes
  // A request whose handler has not answered in this long gets 504 TIMEOUT, so a lost
  // Responder cannot pin a connection forever. Keep it above the longest long poll. 0 = never.
  int response_timeout_seconds = 300;
};

// The HTTP/1.1 admin server (Boost.Beast) on a thread of its own, so HTTP I/O
// never blocks the node's event loop. It keeps connections alive, bounds
// request sizes, idle time and the number of connections, and answers what it
// cannot route or parse with the JSON errors of responses.h.
//
// Handlers run on the server's thread and answer through their Responder,
// either at once or later from any thread; see Handler and Responder in
// http_message.h. A broker handler typically posts the Responder to its event
// loop and calls it there:
//
//   router.Add("GET", "/v1/topics/{topic}", [&loop, &broker](HttpRequest req, Responder respond) {
//     loop.Post([&broker, topic = req.params["topic"], respond] {
//       auto d = broker.Describe(topic);
//       respond(d.ok() ? JsonResponse(ToJson(*d)) : ErrorResponse(d.status()));
//     });
//   });
class HttpServer {
 public:
  // Binds, listens and starts the server's thread; logs one "http server listening" line.
  // INVALID_ARGUMENT for bad options (an address that does not parse, zero limits); IO_ERROR
  // when the address cannot be bound (e.g. the port is in use). `registry` receives the
  // server's metrics (HttpServerMetrics) and must outlive the server.
  static Result<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options, Router router,
                                                   metrics::Registry& registry);
  // Stop()s.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Stops accepting, closes every connection (requests still waiting for their handler are
  // dropped without an answer; their Responders become no-ops) and joins the thread. Returns
  // as soon as the handler running on the server's thread, if any, returns. Idempotent. Call
  // it from the owner's thread, never from a handler.
  void Stop();

  // The port actually bound (the chosen one when options.port was 0).
  uint16_t port() const { return port_; }

 private:
  HttpServer() = default;
  std::unique_ptr<internal::ServerCore> core_;
  uint16_t port_ = 0;
  bool stopped_ = false;
};

}  // namespace sprawl::admin
