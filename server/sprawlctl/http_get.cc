#include "server/sprawlctl/http_get.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace sprawl::ctl {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

Result<nlohmann::json> HttpGetJson(const std::string& base, const std::string& path,
                                   int timeout_ms) {
  constexpr std::string_view kScheme = "http://";
  if (base.rfind(kScheme, 0) != 0) return InvalidArgument("--http must start with http://");
  const std::string authority = base.substr(kScheme.size());
  const size_t colon = authority.rfind(':');
  if (colon == std::string::npos) return InvalidArgument("--http must be http://host:port");
  const std::string host = authority.substr(0, colon);
  const std::string port = authority.substr(colon + 1);
  try {
    boost::asio::io_context io;
    beast::tcp_stream stream(io);
    stream.expires_after(std::chrono::milliseconds(timeout_ms));
    tcp::resolver resolver(io);
    stream.connect(resolver.resolve(host, port));
    http::request<http::empty_body> request(http::verb::get, path, 11);
    request.set(http::field::host, authority);
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(stream, buffer, response);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    auto body = nlohmann::json::parse(response.body(), nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded()) return DataCorruption("the node's answer is not JSON");
    if (response.result_int() / 100 != 2) {
      const std::string message =
          body.contains("message") ? body["message"].get<std::string>() : response.body();
      return Status(ErrorCode::kInternal,
                    "HTTP " + std::to_string(response.result_int()) + ": " + message);
    }
    return body;
  } catch (const std::exception& e) {
    return IoError("cannot reach the HTTP API at " + base + ": " + e.what());
  }
}

}  // namespace sprawl::ctl
