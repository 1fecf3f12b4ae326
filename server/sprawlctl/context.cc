#include "server/sprawlctl/context.h"

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace sprawl::ctl {

Result<client::Client*> Context::Connect() {
  if (!client_) {
    client::ClientConfig config;
    config.server = server;
    config.request_timeout = std::chrono::milliseconds(timeout_ms);
    SPRAWL_ASSIGN_OR_RETURN(client_, client::Client::Connect(config));
  }
  return client_.get();
}

void Print(const Context& ctx, const nlohmann::json& value, const std::function<void()>& human) {
  if (ctx.json) {
    std::cout << value.dump() << std::endl;
  } else {
    human();
  }
}

int Fail(const Status& status) {
  std::cerr << "sprawlctl: " << ErrorCodeName(status.code()) << ": " << status.message();
  if (status.retriable()) std::cerr << " (retriable)";
  std::cerr << std::endl;
  return 1;
}

void PrintTable(const std::vector<std::string>& header,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths(header.size());
  for (size_t i = 0; i < header.size(); ++i) widths[i] = header[i].size();
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  auto print_row = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size(); ++i) {
      std::printf("%-*s%s", static_cast<int>(widths[i]), row[i].c_str(),
                  i + 1 < row.size() ? "  " : "\n");
    }
  };
  print_row(header);
  for (const auto& row : rows) print_row(row);
}

}  // namespace sprawl::ctl
