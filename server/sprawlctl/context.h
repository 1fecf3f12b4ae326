#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "core/client/client.h"
#include "core/protocol/json.h"

namespace sprawl::ctl {

// Options every command shares, and the connection they open on demand.
struct Context {
  std::string server = "tcp://127.0.0.1:7400";
  std::string http = "http://127.0.0.1:7480";
  bool json = false;
  int timeout_ms = 10'000;

  // Connects once; later calls return the same client.
  Result<client::Client*> Connect();

 private:
  std::unique_ptr<client::Client> client_;
};

// Prints `value` as JSON (with --json) or runs `human` to print a table.
void Print(const Context& ctx, const nlohmann::json& value, const std::function<void()>& human);
// Prints an error to stderr and returns the exit code for it (1).
int Fail(const Status& status);

using protocol::ToJson;

// Prints rows as an aligned table with a header row.
void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows);

}  // namespace sprawl::ctl
