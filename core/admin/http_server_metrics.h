#pragma once

#include <map>
#include <string>
#include <string_view>
#include <tuple>

#include "core/util/metrics.h"

namespace sprawl::admin {

// The HTTP server's metrics, registered in the node's registry so /metrics
// shows them. Several servers may share one registry; their series add up.
//   sprawl_http_requests_total{method,route,class}  answered requests
//   sprawl_http_request_seconds{route}              request read -> response queued
//   sprawl_http_open_connections                    connections open now
//   sprawl_http_connections_accepted_total
//   sprawl_http_connections_rejected_total          over the connection cap
// `route` is the matched pattern ("/v1/topics/{topic}"), "unmatched" for 404
// and 405, or "malformed" for requests that could not be parsed, so label
// values stay few whatever clients send. `method` is the standard method or
// "OTHER"; `class` is "2xx".."5xx".
class HttpServerMetrics {
 public:
  explicit HttpServerMetrics(metrics::Registry& registry);

  metrics::Gauge& open_connections;
  metrics::Counter& accepted_connections;
  metrics::Counter& rejected_connections;

  // Counts one answered request. Not thread-safe: only the server's thread calls it (it caches
  // the series it has looked up).
  void RecordRequest(std::string_view method, std::string_view route, int status, double seconds);

 private:
  metrics::Registry& registry_;
  std::map<std::tuple<std::string, std::string, int>, metrics::Counter*> requests_;
  std::map<std::string, metrics::Histogram*, std::less<>> latency_;
};

}  // namespace sprawl::admin
