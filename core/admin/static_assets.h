#pragma once

#include <span>
#include <string>
#include <string_view>

#include "core/admin/router.h"

namespace sprawl::admin {

// One file served as it is: its name under the route's prefix ("app.js"),
// its Content-Type and its bytes. The views point at static storage (the
// generated tables of web/ that embed the console into the binary).
struct StaticAsset {
  std::string_view name;
  std::string_view content_type;
  std::string_view body;
};

// Installs GET `prefix` (the asset named "index.html") and GET `prefix`/{name}
// (the asset of that name; 404 NOT_FOUND for any other name). `prefix` is a
// literal path such as "/ui". Answers carry "Cache-Control: no-cache" so a
// browser revalidates after the server is upgraded. `assets` must outlive the
// server (static tables do).
void InstallStaticRoutes(Router& router, const std::string& prefix,
                         std::span<const StaticAsset> assets);

}  // namespace sprawl::admin
