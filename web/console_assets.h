#pragma once

#include <span>

#include "core/admin/static_assets.h"

namespace sprawl::web {

// The built web console (web/src, built by web/build.mjs), embedded at build
// time: index.html, app.js, style.css and the chart library. Static storage.
std::span<const admin::StaticAsset> ConsoleAssets();

}  // namespace sprawl::web
