#pragma once

#include <functional>

#include "core/admin/router.h"
#include "core/util/metrics.h"
#include "core/util/status.h"

namespace sprawl::admin {

// Says whether the process is ready for traffic: OK when ready, otherwise an
// error whose message is the reason. Called on the HTTP server's thread for
// every GET /ready, so it must be thread-safe and must not block (read an
// atomic, not the event loop).
using ReadinessProbe = std::function<Status()>;

// Installs GET /health (200 {"status":"ok"} whenever the server answers at all)
// and GET /ready (200 {"ready":true}, or 503 {"ready":false,"reason":"..."}
// while `probe` returns an error).
void InstallHealthRoutes(Router& router, ReadinessProbe probe);

// Installs GET /metrics: `registry` rendered in the Prometheus text format
// 0.0.4 (kPrometheusContentType). `registry` must outlive the server.
void InstallMetricsRoute(Router& router, const metrics::Registry& registry);

}  // namespace sprawl::admin
