#include "core/admin/http_server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <exception>
#include <limits>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>
#include <unordered_map>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/admin/http_server_metrics.h"
#include "core/admin/request_target.h"
#include "core/util/logging.h"
#include "core/util/thread_annotations.h"

namespace sprawl::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace internal {
namespace {

// A connection that closes after an error answer keeps reading (and discarding)
// what the client still sends for this long, so the client reads the answer
// instead of a reset caused by unread bytes.
constexpr auto kLingerTime = std::chrono::seconds(5);
// Pause after a failed accept (e.g. out of file descriptors) so it does not spin.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// Route labels of requests that matched no route.
constexpr char kUnmatchedRoute[] = "unmatched";
constexpr char kMalformedRoute[] = "malformed";

std::string EndpointText(const std::string& address, uint16_t port) {
  const bool v6 = address.find(':') != std::string::npos;
  return (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool IsHttpParseError(const beast::error_code& ec) {
  return ec.category() == beast::error_code(http::error::bad_target).category();
}

}  // namespace

// How Responders reach the server's thread from any thread. Stop() sets
// `alive` to false under `mu` before it stops the io_context, so a Responder
// never posts to a stopped or destroyed io_context.
struct Liveness {
  explicit Liveness(asio::io_context::executor_type e) : executor(std::move(e)) {}
  Mutex mu;
  bool alive GUARDED_BY(mu) = true;
  const asio::io_context::executor_type executor;
};

class Session;

class ServerCore {
 public:
  ServerCore(const HttpServerOptions& o, Router r, metrics::Registry& registry)
      : options(o), router(std::move(r)), metrics(registry) {}

  // Accepts the next connection, forever (until the acceptor closes). Server's thread.
  void Accept();
  // Answers a connection over the cap with 503 and closes it. Server's thread.
  void Reject(tcp::socket socket);

  const HttpServerOptions options;
  const Router router;
  HttpServerMetrics metrics;  // server's thread only (RecordRequest caches series)
  // Declared before everything holding sockets or timers so that it is destroyed after them.
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  asio::steady_timer accept_retry{ioc};
  std::shared_ptr<Liveness> liveness = std::make_shared<Liveness>(ioc.get_executor());
  // Every open connection by id; the server's thread only (and Stop() once it has joined it).
  // Owning them here keeps a connection whose handler has not answered yet alive, while
  // Responders and timers hold only weak references.
  std::unordered_map<uint64_t, std::shared_ptr<Session>> sessions;
  uint64_t next_session_id = 1;
  std::array<char, 16 * 1024> scratch{};  // where lingering connections' bytes are discarded
  std::thread thread;
};

// One connection: reads a request, dispatches it, waits for its answer, writes
// it, and reads the next one (HTTP/1.1 keep-alive; no two requests of one
// connection are in a handler at once). Everything runs on the server's thread.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(uint64_t id, tcp::socket socket, ServerCore& core)
      : id_(id), core_(core), stream_(std::move(socket)), deadline_(stream_.get_executor()) {}

  void Start() { ReadHeader(); }

  // Writes `response` if request `request_id` is the one still waiting for an answer; a late
  // or second answer is dropped.
  void Respond(uint64_t request_id, HttpResponse response) {
    if (closed_ || !awaiting_ || request_id != request_id_) return;
    awaiting_ = false;
    deadline_.cancel();
    Reply(std::move(response), !keep_alive_);
  }

  // Closes the socket at once. For Stop(), which then drops the whole registry.
  void Abort() { CloseSocket(); }

 private:
  std::chrono::seconds Idle() const {
    return std::chrono::seconds(core_.options.idle_timeout_seconds);
  }

  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(
        std::min<size_t>(core_.options.max_header_bytes, std::numeric_limits<uint32_t>::max())));
    parser_->body_limit(core_.options.max_body_bytes);
    stream_.expires_after(Idle());
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    started_ = SteadyClock::now();
    if (ec) return OnReadError(ec);
    if (parser_->is_done()) return Dispatch();
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      // A client that waits for this (curl does for large bodies) would otherwise stall.
      stream_.expires_after(Idle());
      asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                        [self = shared_from_this()](beast::error_code ec, size_t) {
                          if (ec) return self->Close();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    stream_.expires_after(Idle());
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->OnReadError(ec);
                       self->Dispatch();
                     });
  }

  // Answers what can be answered (a request over a limit or malformed) and closes.
  void OnReadError(beast::error_code ec) {
    method_ = parser_->is_header_done() ? std::string(parser_->get().method_string()) : "";
    version_ = parser_->is_header_done() ? parser_->get().version() : 11;
    route_ = kMalformedRoute;
    if (ec == http::error::body_limit) {
      return Reply(
          ErrorResponse(Status(ErrorCode::kMessageTooLarge,
                               "the request body exceeds the limit of " +
                                   std::to_string(core_.options.max_body_bytes) + " bytes")),
          /*close=*/true);
    }
    if (ec == http::error::header_limit) {
      HttpResponse r =
          ErrorResponse(Status(ErrorCode::kMessageTooLarge,
                               "the request line and headers exceed the limit of " +
                                   std::to_string(core_.options.max_header_bytes) + " bytes"));
      r.status = 431;  // Request Header Fields Too Large
      return Reply(std::move(r), /*close=*/true);
    }
    if (IsHttpParseError(ec) && ec != http::error::end_of_stream &&
        ec != http::error::partial_message) {
      return Reply(ErrorResponse(InvalidArgument("malformed HTTP request: " + ec.message())),
                   /*close=*/true);
    }
    // The client closed, reset, or stayed idle too long; nobody is left to answer.
    Close();
  }

  void Dispatch();  // defined after ResponseSlot

  void StartResponseDeadline() {
    const int seconds = core_.options.response_timeout_seconds;
    if (seconds <= 0) return;
    deadline_.expires_after(std::chrono::seconds(seconds));
    deadline_.async_wait(
        [weak = weak_from_this(), id = request_id_, seconds](beast::error_code ec) {
          if (ec) return;  // answered in time (cancelled) or closing
          if (auto self = weak.lock()) {
            self->Respond(id, ErrorResponse(Timeout("the request's handler did not answer within " +
                                                    std::to_string(seconds) + " s")));
          }
        });
  }

  void Reply(HttpResponse r, bool close) {
    if (closed_) return;
    const double seconds = std::chrono::duration<double>(SteadyClock::now() - started_).count();
    if (r.status < 100 || r.status > 999) {
      r = ErrorResponse(
          Internal("a handler answered with HTTP status " + std::to_string(r.status)));
    }
    core_.metrics.RecordRequest(method_, route_, r.status, seconds);
    response_.emplace();
    http::response<http::string_body>& res = *response_;
    res.version(version_);
    res.result(static_cast<unsigned>(r.status));
    res.set(http::field::server, "sprawl");
    res.set(http::field::content_type, r.content_type);
    for (const auto& [name, value] : r.headers) res.insert(name, value);
    res.keep_alive(!close);
    res.body() = std::move(r.body);
    res.prepare_payload();
    // HEAD gets the headers GET would (Content-Length included) and no body.
    if (method_ == "HEAD") res.body().clear();
    stream_.expires_after(Idle());
    http::async_write(stream_, res,
                      [self = shared_from_this(), close](beast::error_code ec, size_t) {
                        if (ec) return self->Close();
                        if (close) return self->Linger();
                        self->ReadHeader();
                      });
  }

  // Half-closes and discards input until the client closes or kLingerTime passes.
  void Linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(kLingerTime);
    Drain();
  }

  void Drain() {
    stream_.async_read_some(asio::buffer(core_.scratch),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->Close();
                              self->Drain();
                            });
  }

  void Close() {
    if (closed_) return;
    auto keep = shared_from_this();  // the registry may hold the last other reference
    CloseSocket();
    core_.sessions.erase(id_);
  }

  void CloseSocket() {
    if (closed_) return;
    closed_ = true;
    awaiting_ = false;
    deadline_.cancel();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
    core_.metrics.open_connections.Add(-1);
  }

  const uint64_t id_;
  ServerCore& core_;
  beast::tcp_stream stream_;
  asio::steady_timer deadline_;  // the answer of the current request is due
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  uint64_t request_id_ = 0;  // increases per request; a Responder answers only its own
  bool awaiting_ = false;    // a handler has the current request and has not answered
  bool keep_alive_ = false;
  bool closed_ = false;
  unsigned version_ = 11;
  std::string method_;
  std::string route_;
  SteadyClock::time_point started_ = SteadyClock::now();
};

// The shared state behind every copy of one request's Responder.
class ResponseSlot {
 public:
  ResponseSlot(std::shared_ptr<Liveness> liveness, std::weak_ptr<Session> session,
               uint64_t request_id)
      : liveness_(std::move(liveness)), session_(std::move(session)), request_id_(request_id) {}

  ResponseSlot(const ResponseSlot&) = delete;
  ResponseSlot& operator=(const ResponseSlot&) = delete;

  // The last copy of the Responder is gone without an answer: tell the client.
  ~ResponseSlot() {
    if (answered_.exchange(true)) return;
    try {
      Deliver(ErrorResponse(Internal("the request's handler finished without answering")));
    } catch (...) {
      // Out of memory while posting: the response deadline or Stop() closes the connection.
    }
  }

  // Any thread. The first answer is delivered, later ones are ignored.
  void Answer(HttpResponse response) {
    if (answered_.exchange(true)) return;
    Deliver(std::move(response));
  }

 private:
  void Deliver(HttpResponse response) {
    MutexLock lock(liveness_->mu);
    if (!liveness_->alive) return;
    asio::post(liveness_->executor,
               [session = session_, id = request_id_, response = std::move(response)]() mutable {
                 if (auto s = session.lock()) s->Respond(id, std::move(response));
               });
  }

  const std::shared_ptr<Liveness> liveness_;
  const std::weak_ptr<Session> session_;
  const uint64_t request_id_;
  std::atomic<bool> answered_{false};
};

void Session::Dispatch() {
  http::request<http::string_body>& req = parser_->get();
  ++request_id_;
  keep_alive_ = req.keep_alive();
  version_ = req.version();
  method_ = std::string(req.method_string());
  Result<RequestTarget> target =
      ParseRequestTarget(std::string_view(req.target().data(), req.target().size()));
  if (!target.ok()) {
    route_ = kMalformedRoute;
    return Reply(ErrorResponse(target.status()), !keep_alive_);
  }
  RouteMatch match = core_.router.Match(method_, target->segments);
  if (match.handler == nullptr) {
    route_ = kUnmatchedRoute;
    if (match.status == 404) {
      return Reply(ErrorResponse(NotFound("no resource at " + target->path)), !keep_alive_);
    }
    HttpResponse r = ErrorResponse(InvalidArgument(method_ + " is not allowed on " + target->path +
                                                   " (allowed: " + match.allow + ")"));
    r.status = 405;
    r.headers.emplace_back("Allow", match.allow);
    return Reply(std::move(r), !keep_alive_);
  }
  route_ = match.pattern;
  HttpRequest request;
  request.method = method_;
  request.path = std::move(target->path);
  request.query = std::move(target->query);
  request.params = std::move(match.params);
  for (const auto& field : req) {
    const std::string value(field.value().data(), field.value().size());
    auto [it, inserted] = request.headers.emplace(Lower(std::string(field.name_string())), value);
    if (!inserted) it->second += ", " + value;
  }
  request.body = std::move(req.body());

  awaiting_ = true;
  StartResponseDeadline();
  auto slot = std::make_shared<ResponseSlot>(core_.liveness, weak_from_this(), request_id_);
  Responder respond = [slot](HttpResponse response) { slot->Answer(std::move(response)); };
  try {
    (*match.handler)(std::move(request), respond);
  } catch (const std::exception& e) {
    log::Error("http handler threw", {{"route", route_}, {"error", e.what()}});
    respond(ErrorResponse(Internal(std::string("the request's handler failed: ") + e.what())));
  } catch (...) {
    log::Error("http handler threw", {{"route", route_}, {"error", "a non-standard exception"}});
    respond(ErrorResponse(Internal("the request's handler failed")));
  }
}

void ServerCore::Accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;  // the acceptor closed
    if (ec) {
      log::Warn("http accept failed", {{"error", ec.message()}});
      accept_retry.expires_after(kAcceptRetryDelay);
      accept_retry.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec) Accept();
      });
      return;
    }
    if (sessions.size() >= options.max_connections) {
      Reject(std::move(socket));
    } else {
      metrics.accepted_connections.Increment();
      metrics.open_connections.Add(1);
      const uint64_t id = next_session_id++;
      auto session = std::make_shared<Session>(id, std::move(socket), *this);
      sessions.emplace(id, session);
      session->Start();
    }
    Accept();
  });
}

void ServerCore::Reject(tcp::socket socket) {
  metrics.rejected_connections.Increment();
  HttpResponse r =
      ErrorResponse(ResourceExhausted("the HTTP server already has its maximum of " +
                                      std::to_string(options.max_connections) + " connections"));
  r.status = 503;
  http::response<http::string_body> res{http::status::service_unavailable, 11};
  res.set(http::field::server, "sprawl");
  res.set(http::field::content_type, r.content_type);
  for (const auto& [name, value] : r.headers) res.insert(name, value);
  res.keep_alive(false);
  res.body() = std::move(r.body);
  res.prepare_payload();
  std::ostringstream text;
  text << res;
  const std::string bytes = text.str();
  // Best effort without blocking this thread: a fresh socket's send buffer takes a few hundred
  // bytes. A client that already sent its request may see a reset instead (unread input).
  beast::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.write_some(asio::buffer(bytes), ignored);
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

}  // namespace internal

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                      Router router, metrics::Registry& registry) {
  if (options.max_body_bytes == 0 || options.max_header_bytes == 0 ||
      options.max_connections == 0 || options.idle_timeout_seconds <= 0 ||
      options.response_timeout_seconds < 0) {
    return InvalidArgument(
        "HTTP server limits must be positive (max_body_bytes, max_header_bytes, "
        "max_connections, idle_timeout_seconds; response_timeout_seconds may be 0)");
  }
  beast::error_code ec;
  const asio::ip::address address = asio::ip::make_address(options.bind, ec);
  if (ec) {
    return InvalidArgument("the HTTP bind address '" + options.bind +
                           "' is not an IP address: " + ec.message());
  }
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->core_ = std::make_unique<internal::ServerCore>(options, std::move(router), registry);
  internal::ServerCore& core = *server->core_;
  const tcp::endpoint endpoint(address, options.port);
  core.acceptor.open(endpoint.protocol(), ec);
  // Lets a restarted server bind while old connections linger in TIME_WAIT; a port with a
  // live listener still fails on Linux.
  if (!ec) core.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) core.acceptor.bind(endpoint, ec);
  if (!ec) core.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return IoError("cannot listen for HTTP on " +
                   internal::EndpointText(options.bind, options.port) + ": " + ec.message());
  }
  server->port_ = core.acceptor.local_endpoint(ec).port();
  if (ec) return IoError("cannot read the bound HTTP port: " + ec.message());
  core.Accept();
  core.thread = std::thread([&core] {
    for (;;) {
      try {
        core.ioc.run();
        return;  // stopped
      } catch (const std::exception& e) {
        log::Error("http server thread caught an exception", {{"error", e.what()}});
      }
    }
  });
  log::Info("http server listening", {{"address", options.bind},
                                      {"port", server->port_},
                                      {"max_connections", options.max_connections},
                                      {"max_body_bytes", options.max_body_bytes},
                                      {"idle_timeout_s", options.idle_timeout_seconds}});
  return server;
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  if (core_ == nullptr || stopped_) return;
  stopped_ = true;
  {
    MutexLock lock(core_->liveness->mu);
    core_->liveness->alive = false;
  }
  core_->ioc.stop();
  if (core_->thread.joinable()) core_->thread.join();
  // The server's thread is gone; this thread owns the state now.
  beast::error_code ignored;
  core_->acceptor.close(ignored);
  core_->accept_retry.cancel();
  for (auto& [id, session] : core_->sessions) session->Abort();
  core_->sessions.clear();
  if (port_ != 0) log::Info("http server stopped", {{"port", port_}});
}

}  // namespace sprawl::admin
