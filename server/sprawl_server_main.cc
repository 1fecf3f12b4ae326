// sprawl-server: one Sprawl node serving clients until SIGTERM or SIGINT.
#include <csignal>
#include <cstdio>

#include "core/node/node.h"
#include "server/server_options.h"
#include "web/console_assets.h"

int main(int argc, char** argv) {
  using namespace sprawl;
  // Block the stop signals before any thread starts, so that only sigwait
  // below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  server::ParseOutcome parsed = server::ParseServerOptions(argc, argv);
  if (parsed.exit_code >= 0) {
    std::fprintf(parsed.exit_code == 0 ? stdout : stderr, "%s%s",
                 parsed.exit_code == 0 ? "" : "sprawl-server: ", parsed.message.c_str());
    if (parsed.exit_code != 0) std::fprintf(stderr, "\n");
    return parsed.exit_code;
  }
  server::ServerOptions& options = parsed.options;
  options.node.console = web::ConsoleAssets();  // GET /ui (docs/console.md)
  log::LogOptions log_options;
  log_options.level = options.log_level;
  log_options.format = options.log_format;
  log_options.node_id = options.node.node_id;
  log::Configure(log_options);

  auto node = node::Node::Start(options.node);
  if (!node.ok()) {
    std::fprintf(stderr, "sprawl-server: %s\n", node.status().ToString().c_str());
    return 1;
  }
  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  log::Info("stopping", {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (*node)->Stop();
  return 0;
}
