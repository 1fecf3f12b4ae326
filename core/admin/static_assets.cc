#include "core/admin/static_assets.h"

#include "core/admin/responses.h"

namespace sprawl::admin {
namespace {

HttpResponse AssetResponse(const StaticAsset& asset) {
  HttpResponse r = TextResponse(std::string(asset.body), std::string(asset.content_type));
  r.headers.emplace_back("Cache-Control", "no-cache");
  // The console only talks to its own node; nothing may frame it.
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  return r;
}

}  // namespace

void InstallStaticRoutes(Router& router, const std::string& prefix,
                         std::span<const StaticAsset> assets) {
  auto find = [assets](std::string_view name) -> const StaticAsset* {
    for (const StaticAsset& a : assets) {
      if (a.name == name) return &a;
    }
    return nullptr;
  };
  router.Add("GET", prefix, [find](const HttpRequest&, const Responder& respond) {
    const StaticAsset* index = find("index.html");
    if (index == nullptr) {
      return respond(ErrorResponse(NotFound("this build has no index.html to serve")));
    }
    respond(AssetResponse(*index));
  });
  router.Add(
      "GET", prefix + "/{name}", [find, prefix](HttpRequest request, const Responder& respond) {
        const StaticAsset* asset = find(request.params["name"]);
        if (asset == nullptr) {
          return respond(
              ErrorResponse(NotFound("no file '" + request.params["name"] + "' under " + prefix)));
        }
        respond(AssetResponse(*asset));
      });
}

}  // namespace sprawl::admin
