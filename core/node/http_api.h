#pragma once

#include <atomic>
#include <span>

#include "core/admin/http_server.h"
#include "core/admin/static_assets.h"
#include "core/broker/broker.h"
#include "core/meta/meta_service.h"
#include "core/node/rest_members.h"
#include "core/transport/event_loop.h"

namespace sprawl::node {

class Cluster;

// The node's HTTP admin API (docs/http-api.md): health, readiness, metrics,
// topics, groups, and publish/consume over REST. Handlers run on the HTTP
// thread and hand broker work to the event loop, answering from there.
class HttpApi {
 public:
  // Everything must outlive the HTTP server built from Routes().
  HttpApi(broker::Broker& broker, transport::EventLoop& loop, RestMembers& rest,
          const metrics::Registry& registry, const std::atomic<bool>& ready)
      : broker_(broker), loop_(loop), rest_(rest), registry_(registry), ready_(ready) {}

  admin::Router Routes();

  // The console Routes() serves at /ui (none when empty); set before Routes().
  void SetConsole(std::span<const admin::StaticAsset> assets) { console_ = assets; }

  // The cluster the /v1/cluster and /v1/placement routes describe (and the
  // fault routes cut off); set before the loop runs.
  void SetCluster(Cluster* cluster) { cluster_ = cluster; }
  // Whether /v1/faults/... inject faults (sprawl-server --fault-injection,
  // for tests only) or answer NOT_FOUND; set before Routes().
  void SetFaultInjection(bool enabled) { fault_injection_ = enabled; }
  // Topic create, alter and delete go to the cluster's metadata group
  // through `meta` (GET /v1/meta describes it); set before the loop runs.
  void SetMeta(meta::MetaService* meta) { meta_ = meta; }

 private:
  // Runs `fn` on the loop; it answers through the responder it is given.
  void OnLoop(admin::Responder respond, std::function<void(admin::Responder)> fn);

  void Publish(admin::HttpRequest request, admin::Responder respond);
  void Consume(admin::HttpRequest request, admin::Responder respond);
  void Settle(admin::HttpRequest request, admin::Responder respond);
  void Browse(admin::HttpRequest request, admin::Responder respond);
  void ResetGroup(admin::HttpRequest request, admin::Responder respond);
  void InstallFaultRoutes(admin::Router& router);

  meta::MetaService* meta_ = nullptr;
  broker::Broker& broker_;
  transport::EventLoop& loop_;
  RestMembers& rest_;
  const metrics::Registry& registry_;
  const std::atomic<bool>& ready_;
  std::atomic<uint64_t> round_robin_{0};
  Cluster* cluster_ = nullptr;
  bool fault_injection_ = false;
  std::span<const admin::StaticAsset> console_;
};

}  // namespace sprawl::node
