#pragma once

#include <CLI/CLI.hpp>

#include "server/sprawlctl/context.h"

namespace sprawl::ctl {

// Each adds its subcommands to `app`; a command's callback stores its exit
// code in `exit_code`.
void AddTopicCommands(CLI::App& app, Context& ctx, int& exit_code);
void AddPublishCommand(CLI::App& app, Context& ctx, int& exit_code);
void AddSubscribeCommand(CLI::App& app, Context& ctx, int& exit_code);
void AddGroupCommands(CLI::App& app, Context& ctx, int& exit_code);
void AddBenchCommands(CLI::App& app, Context& ctx, int& exit_code);
void AddStatusCommand(CLI::App& app, Context& ctx, int& exit_code);
void AddClusterCommands(CLI::App& app, Context& ctx, int& exit_code);
void AddPartitionCommands(CLI::App& app, Context& ctx, int& exit_code);

}  // namespace sprawl::ctl
