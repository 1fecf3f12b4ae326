#include "core/client/connection_pool.h"

namespace sprawl::client {

Result<std::unique_ptr<ConnectionPool>> ConnectionPool::Connect(
    const std::string& bootstrap, transport::ClientOptions options,
    std::function<void(transport::Reply)> on_push) {
  SPRAWL_ASSIGN_OR_RETURN(auto connection,
                          transport::ClientConnection::Connect(bootstrap, options));
  connection->SetPushHandler(on_push);
  return std::unique_ptr<ConnectionPool>(
      new ConnectionPool(std::move(connection), options, std::move(on_push)));
}

ConnectionPool::~ConnectionPool() { Close(); }

transport::ClientConnection* ConnectionPool::Get(const std::string& address) {
  if (address.empty() || address == bootstrap_->endpoint()) return bootstrap_.get();
  MutexLock lock(mu_);
  if (closed_) return nullptr;
  auto it = others_.find(address);
  if (it != others_.end()) return it->second.get();
  // Connecting is asynchronous in ZeroMQ: this only creates the socket and
  // its I/O thread, so it is safe under the lock and on an I/O thread.
  auto connection = transport::ClientConnection::Connect(address, options_);
  if (!connection.ok()) return nullptr;
  (*connection)->SetPushHandler(on_push_);
  transport::ClientConnection* raw = connection->get();
  others_.emplace(address, std::move(*connection));
  return raw;
}

std::vector<std::string> ConnectionPool::Addresses() const {
  std::vector<std::string> out{bootstrap_->endpoint()};
  MutexLock lock(mu_);
  for (const auto& [address, connection] : others_) out.push_back(address);
  return out;
}

void ConnectionPool::Close() {
  std::vector<transport::ClientConnection*> open;
  {
    MutexLock lock(mu_);
    closed_ = true;
    for (auto& [address, connection] : others_) open.push_back(connection.get());
  }
  // Without the lock: closing runs the connections' failed callbacks, which
  // may ask for another connection.
  bootstrap_->Close();
  for (transport::ClientConnection* c : open) c->Close();
}

}  // namespace sprawl::client
