#include "core/admin/http_server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <mutex>

#include "core/util/logging.h"

namespace sprawl::admin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

std::string PercentDecode(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out.push_back(' ');
    } else if (in[i] == '%' && i + 2 < in.size() && std::isxdigit(in[i + 1]) &&
               std::isxdigit(in[i + 2])) {
      out.push_back(static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

void ParseTarget(std::string_view target, HttpRequest* out) {
  const size_t q = target.find('?');
  out->path = PercentDecode(target.substr(0, q));
  if (q == std::string_view::npos) return;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    out->query[PercentDecode(pair.substr(0, eq))] =
        eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
}

// What a Responder needs to reach its connection safely from any thread,
// even after the server stopped.
struct Liveness {
  std::mutex mu;
  bool alive = true;
};

struct Metrics {
  explicit Metrics(metrics::Registry& r)
      : ok(r.GetCounter("sprawl_http_requests_total", "HTTP admin requests by status class.",
                        {{"class", "2xx"}})),
        client_error(r.GetCounter("sprawl_http_requests_total",
                                  "HTTP admin requests by status class.", {{"class", "4xx"}})),
        server_error(r.GetCounter("sprawl_http_requests_total",
                                  "HTTP admin requests by status class.", {{"class", "5xx"}})),
        connections(r.GetGauge("sprawl_http_connections", "Open HTTP admin connections.")),
        seconds(r.GetHistogram("sprawl_http_request_seconds",
                               "Time from an HTTP admin request to its response.")) {}
  metrics::Counter& ok;
  metrics::Counter& client_error;
  metrics::Counter& server_error;
  metrics::Gauge& connections;
  metrics::Histogram& seconds;
};

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions options;
  Router router;
  Metrics metrics;
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::shared_ptr<Liveness> liveness = std::make_shared<Liveness>();
  std::atomic<size_t> open{0};
  std::thread thread;

  Impl(const HttpServerOptions& o, Router r, metrics::Registry& registry)
      : options(o), router(std::move(r)), metrics(registry) {}
  void Accept();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl* server)
      : stream_(std::move(socket)), server_(server) {}

  void Start() { Read(); }

  ~Session() {
    --server_->open;
    server_->metrics.connections.Set(static_cast<int64_t>(server_->open.load()));
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(server_->options.max_body_bytes);
    parser_->header_limit(16 * 1024);
    stream_.expires_after(std::chrono::seconds(server_->options.idle_timeout_seconds));
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted) {
      return Close();
    }
    if (ec) {
      // Malformed or oversized requests get an answer, then the connection closes.
      HttpResponse r;
      if (ec == http::error::body_limit) {
        r = ErrorResponse(Status(
            ErrorCode::kMessageTooLarge,
            "request body exceeds " + std::to_string(server_->options.max_body_bytes) + " bytes"));
      } else {
        r = ErrorResponse(InvalidArgument("malformed HTTP request: " + ec.message()));
      }
      keep_alive_ = false;
      return Write(std::move(r));
    }
    const auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    started_ = std::chrono::steady_clock::now();
    HttpRequest request;
    request.method = std::string(req.method_string());
    ParseTarget(std::string_view(req.target().data(), req.target().size()), &request);
    request.body = req.body();
    int status = 0;
    std::string allow;
    const Handler* handler = server_->router.Match(request, &status, &allow);
    if (handler == nullptr) {
      HttpResponse r = ErrorResponse(
          status == 404 ? NotFound("no such resource: " + request.path)
                        : InvalidArgument(request.method + " is not allowed on " + request.path));
      r.status = status;
      if (status == 405) r.headers.emplace_back("Allow", allow);
      return Write(std::move(r));
    }
    auto liveness = server_->liveness;
    auto self = shared_from_this();
    auto once = std::make_shared<std::atomic<bool>>(false);
    Responder respond = [liveness, self, once](HttpResponse response) {
      if (once->exchange(true)) return;
      std::lock_guard lock(liveness->mu);
      if (!liveness->alive) return;
      asio::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->Write(std::move(response));
      });
    };
    (*handler)(std::move(request), std::move(respond));
  }

  void Write(HttpResponse r) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->result(static_cast<unsigned>(r.status));
    res->version(11);
    res->set(http::field::server, "sprawl");
    res->set(http::field::content_type, r.content_type);
    for (const auto& [k, v] : r.headers) res->set(k, v);
    res->keep_alive(keep_alive_);
    res->body() = std::move(r.body);
    res->prepare_payload();
    auto& m = server_->metrics;
    (r.status < 400 ? m.ok : r.status < 500 ? m.client_error : m.server_error).Increment();
    m.seconds.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count());
    stream_.expires_after(std::chrono::seconds(server_->options.idle_timeout_seconds));
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec || !self->keep_alive_) return self->Close();
                        self->Read();
                      });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  HttpServer::Impl* server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool keep_alive_ = false;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted) return;
      log::Warn("http accept failed", {{"error", ec.message()}});
    } else if (open.load() >= options.max_connections) {
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      ++open;
      metrics.connections.Set(static_cast<int64_t>(open.load()));
      std::make_shared<Session>(std::move(socket), this)->Start();
    }
    Accept();
  });
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                      Router router, metrics::Registry& registry) {
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->impl_ = std::make_unique<Impl>(options, std::move(router), registry);
  Impl& impl = *server->impl_;
  beast::error_code ec;
  const auto address = asio::ip::make_address(options.bind, ec);
  if (ec) return InvalidArgument("bad HTTP bind address '" + options.bind + "': " + ec.message());
  const tcp::endpoint endpoint(address, options.port);
  impl.acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl.acceptor.bind(endpoint, ec);
  if (!ec) impl.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return IoError("cannot listen for HTTP on " + options.bind + ":" +
                   std::to_string(options.port) + ": " + ec.message());
  }
  server->port_ = impl.acceptor.local_endpoint().port();
  impl.Accept();
  impl.thread = std::thread([&impl] { impl.ioc.run(); });
  return server;
}

HttpServer::~HttpServer() { Stop(); }

void HttpServer::Stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  {
    std::lock_guard lock(impl_->liveness->mu);
    impl_->liveness->alive = false;
  }
  impl_->ioc.stop();
  impl_->thread.join();
}

int HttpStatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return 200;
    case ErrorCode::kInvalidArgument:
      return 400;
    case ErrorCode::kNotFound:
      return 404;
    case ErrorCode::kUnknownMember:
      return 404;
    case ErrorCode::kAlreadyExists:
      return 409;
    case ErrorCode::kOffsetOutOfRange:
      return 416;
    case ErrorCode::kMessageTooLarge:
      return 413;
    case ErrorCode::kRetryAfter:
      return 429;
    case ErrorCode::kResourceExhausted:
      return 429;
    case ErrorCode::kNotLeader:
      return 421;
    case ErrorCode::kTimeout:
      return 504;
    case ErrorCode::kClosed:
      return 503;
    default:
      return 500;
  }
}

HttpResponse ErrorResponse(const Status& status) {
  HttpResponse r;
  r.status = HttpStatusFor(status.code());
  nlohmann::json body = {{"error",
                          {{"code", std::string(ErrorCodeName(status.code()))},
                           {"code_number", static_cast<int>(status.code())},
                           {"message", status.message()},
                           {"retriable", status.retriable()}}}};
  r.body = body.dump();
  return r;
}

}  // namespace sprawl::admin
