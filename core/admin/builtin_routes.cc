#include "core/admin/builtin_routes.h"

#include <nlohmann/json.hpp>

#include "core/admin/responses.h"

namespace sprawl::admin {

void InstallHealthRoutes(Router& router, ReadinessProbe probe) {
  router.Add("GET", "/health", [](HttpRequest, Responder respond) {
    respond(JsonResponse({{"status", "ok"}}));
  });
  router.Add("GET", "/ready", [probe = std::move(probe)](HttpRequest, Responder respond) {
    const Status ready = probe ? probe() : Internal("no readiness probe is installed");
    if (ready.ok()) return respond(JsonResponse({{"ready", true}}));
    respond(JsonResponse({{"ready", false}, {"reason", ready.message()}}, 503));
  });
}

void InstallMetricsRoute(Router& router, const metrics::Registry& registry) {
  router.Add("GET", "/metrics", [&registry](HttpRequest, Responder respond) {
    respond(TextResponse(registry.RenderPrometheus(), kPrometheusContentType));
  });
}

}  // namespace sprawl::admin
