#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/transport/client_connection.h"
#include "core/util/thread_annotations.h"

namespace sprawl::client {

// The client's connections to the nodes of a cluster: the bootstrap one (the
// address the user gave) and one per other node address, opened on first
// use and closed together. Server pushes from any of them go to one
// handler, since a group's deliveries come on whichever connection joined.
// Thread-safe.
class ConnectionPool {
 public:
  // Opens the bootstrap connection. INVALID_ARGUMENT for a malformed address.
  // `on_push` runs on the I/O thread of the connection that got the push.
  static Result<std::unique_ptr<ConnectionPool>> Connect(
      const std::string& bootstrap, transport::ClientOptions options,
      std::function<void(transport::Reply)> on_push);
  // Close()s.
  ~ConnectionPool();

  transport::ClientConnection& bootstrap() { return *bootstrap_; }
  const std::string& bootstrap_address() const { return bootstrap_->endpoint(); }

  // The connection to `address`, opened on first use ("" is the bootstrap
  // one). nullptr after Close or for an address ZeroMQ refuses (a bad hint).
  // The pointer stays valid until the pool is destroyed. Never blocks on the
  // network, so I/O threads may call it.
  transport::ClientConnection* Get(const std::string& address);

  // The addresses of every connection opened so far, bootstrap first.
  std::vector<std::string> Addresses() const;

  // Closes every connection (outstanding calls fail with CLOSED); later Gets
  // return nullptr except for the bootstrap connection, which is closed and
  // fails calls itself. Connections are freed only with the pool, so
  // pointers handed out stay valid. Idempotent; not from an I/O thread.
  void Close();

 private:
  ConnectionPool(std::unique_ptr<transport::ClientConnection> bootstrap,
                 transport::ClientOptions options, std::function<void(transport::Reply)> on_push)
      : options_(options), on_push_(std::move(on_push)), bootstrap_(std::move(bootstrap)) {}

  const transport::ClientOptions options_;
  const std::function<void(transport::Reply)> on_push_;
  const std::unique_ptr<transport::ClientConnection> bootstrap_;
  mutable Mutex mu_;
  bool closed_ GUARDED_BY(mu_) = false;
  // Never erased before destruction (see Close).
  std::map<std::string, std::unique_ptr<transport::ClientConnection>> others_ GUARDED_BY(mu_);
};

}  // namespace sprawl::client
