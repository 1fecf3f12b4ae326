#pragma once

#include <string>
#include <vector>

#include "core/node/node_config.h"
#include "core/util/logging.h"
#include "core/util/result.h"

namespace sprawl::server {

// What sprawl-server runs with: the node's configuration and its logging.
struct ServerOptions {
  node::NodeConfig node;
  log::Level log_level = log::Level::kInfo;
  log::Format log_format = log::Format::kText;
};

// Parses flags, SPRAWL_* environment variables and the --config file, in that
// order of precedence (docs/configuration.md). `exit_code` is set when the
// process should exit at once (--help: 0, a bad value: 2) with `message`
// printed; otherwise the options are returned.
struct ParseOutcome {
  ServerOptions options;
  int exit_code = -1;  // -1: run
  std::string message;
};
ParseOutcome ParseServerOptions(int argc, const char* const* argv);

}  // namespace sprawl::server
