// sprawlctl: the command-line client of a Sprawl node.
#include <CLI/CLI.hpp>

#include "core/util/logging.h"
#include "server/sprawlctl/commands.h"

int main(int argc, char** argv) {
  using namespace sprawl;
  log::LogOptions quiet;
  quiet.level = log::Level::kError;
  log::Configure(quiet);

  ctl::Context ctx;
  int exit_code = 0;
  CLI::App app{"sprawlctl: manage topics and groups, publish, subscribe and benchmark a node"};
  app.require_subcommand(1);
  // The global flags below may come anywhere, also after a subcommand
  // (`sprawlctl bench produce --json`): a subcommand passes an option it
  // does not know up to its parent. Subcommands added later inherit it.
  app.fallthrough();
  app.add_option("--server", ctx.server, "Node client endpoint")
      ->envname("SPRAWL_SERVER")
      ->capture_default_str();
  app.add_option("--http", ctx.http, "Node HTTP admin address")
      ->envname("SPRAWL_HTTP")
      ->capture_default_str();
  app.add_flag("--json", ctx.json, "Print JSON for scripts");
  app.add_option("--timeout-ms", ctx.timeout_ms, "Request timeout")->capture_default_str();
  ctl::AddTopicCommands(app, ctx, exit_code);
  ctl::AddPublishCommand(app, ctx, exit_code);
  ctl::AddSubscribeCommand(app, ctx, exit_code);
  ctl::AddGroupCommands(app, ctx, exit_code);
  ctl::AddBenchCommands(app, ctx, exit_code);
  ctl::AddStatusCommand(app, ctx, exit_code);
  ctl::AddClusterCommands(app, ctx, exit_code);
  ctl::AddPartitionCommands(app, ctx, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return exit_code;
}
