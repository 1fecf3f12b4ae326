#include "core/admin/http_server_metrics.h"

#include <array>

namespace sprawl::admin {
namespace {

constexpr char kRequestsHelp[] =
    "HTTP requests answered, by method, route pattern and status class.";
constexpr char kLatencyHelp[] =
    "Seconds from an HTTP request being read to its response being queued, by route pattern.";

std::string MethodLabel(std::string_view method) {
  static constexpr std::array<std::string_view, 7> kKnown = {"GET",    "HEAD",    "POST", "PUT",
                                                             "DELETE", "OPTIONS", "PATCH"};
  for (std::string_view known : kKnown) {
    if (method == known) return std::string(known);
  }
  return "OTHER";
}

}  // namespace

HttpServerMetrics::HttpServerMetrics(metrics::Registry& r)
    : open_connections(
          r.GetGauge("sprawl_http_open_connections", "HTTP connections open on the admin server.")),
      accepted_connections(r.GetCounter("sprawl_http_connections_accepted_total",
                                        "HTTP connections accepted by the admin server.")),
      rejected_connections(
          r.GetCounter("sprawl_http_connections_rejected_total",
                       "HTTP connections refused because the connection cap was reached.")),
      registry_(r) {}

void HttpServerMetrics::RecordRequest(std::string_view method, std::string_view route, int status,
                                      double seconds) {
  const int status_class = status >= 100 && status < 600 ? status / 100 : 5;
  auto key = std::make_tuple(MethodLabel(method), std::string(route), status_class);
  auto it = requests_.find(key);
  if (it == requests_.end()) {
    metrics::Counter& counter =
        registry_.GetCounter("sprawl_http_requests_total", kRequestsHelp,
                             {{"method", std::get<0>(key)},
                              {"route", std::get<1>(key)},
                              {"class", std::to_string(status_class) + "xx"}});
    it = requests_.emplace(std::move(key), &counter).first;
  }
  it->second->Increment();
  auto lit = latency_.find(route);
  if (lit == latency_.end()) {
    metrics::Histogram& histogram = registry_.GetHistogram(
        "sprawl_http_request_seconds", kLatencyHelp, {{"route", std::string(route)}});
    lit = latency_.emplace(std::string(route), &histogram).first;
  }
  lit->second->Observe(seconds);
}

}  // namespace sprawl::admin
