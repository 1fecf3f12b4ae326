#pragma once

// A small HTTP/1.1 client for the admin server's tests, on Boost.Beast. Calls
// are synchronous for the test, but run on a private io_context with a
// deadline, so a server bug fails a test instead of hanging it.

#include <array>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace sprawl::admin::testing {

struct ClientResponse {
  int status = -1;    // -1: no response; see `error`
  std::string error;  // why there is no response
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
  bool keep_alive = false;

  // The header's value, or "" (`name` in lower case).
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
  // The body parsed as JSON (a discarded value when it is not JSON).
  nlohmann::json Json() const { return nlohmann::json::parse(body, nullptr, false); }
};

class TestClient {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;

  // Connects to 127.0.0.1:`port`; connected() says whether that worked.
  explicit TestClient(uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10))
      : timeout_(timeout) {
    const boost::asio::ip::tcp::endpoint endpoint(boost::asio::ip::make_address("127.0.0.1"), port);
    connect_error_ = Run([&](Done done) {
      stream_.async_connect(endpoint, [done](boost::beast::error_code ec) { done(ec); });
    });
  }

  bool connected() const { return !connect_error_; }
  std::string connect_error() const { return connect_error_.message(); }

  // Sends one request and reads its response on this connection.
  ClientResponse Request(const std::string& method, const std::string& target,
                         const std::string& body = "", const Headers& headers = {},
                         bool keep_alive = true) {
    namespace http = boost::beast::http;
    http::request<http::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    req.set(http::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) req.set(name, value);
    req.keep_alive(keep_alive);
    req.body() = body;
    req.prepare_payload();
    boost::beast::error_code ec = Run([&](Done done) {
      http::async_write(stream_, req, [done](boost::beast::error_code e, size_t) { done(e); });
    });
    if (ec) {
      ClientResponse r;
      r.error = "write: " + ec.message();
      return r;
    }
    return ReadResponse();
  }

  // Writes `bytes` as they are.
  boost::beast::error_code SendRaw(const std::string& bytes) {
    return Run([&](Done done) {
      boost::asio::async_write(stream_, boost::asio::buffer(bytes),
                               [done](boost::beast::error_code e, size_t) { done(e); });
    });
  }

  // Reads the next response.
  ClientResponse ReadResponse() {
    namespace http = boost::beast::http;
    if (!raw_.empty()) {  // bytes ReadUntil read past its marker
      auto space = buffer_.prepare(raw_.size());
      boost::asio::buffer_copy(space, boost::asio::buffer(raw_));
      buffer_.commit(raw_.size());
      raw_.clear();
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    boost::beast::error_code ec = Run([&](Done done) {
      http::async_read(stream_, buffer_, parser,
                       [done](boost::beast::error_code e, size_t) { done(e); });
    });
    ClientResponse r;
    if (ec) {
      r.error = "read: " + ec.message();
      return r;
    }
    const auto& res = parser.get();
    r.status = static_cast<int>(res.result_int());
    r.body = res.body();
    r.keep_alive = res.keep_alive();
    for (const auto& field : res) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(field.value());
    }
    return r;
  }

  // Reads raw bytes until `marker` has been seen (or an error or the deadline); returns them.
  std::string ReadUntil(const std::string& marker) {
    std::string out;
    boost::beast::error_code ec = Run([&](Done done) {
      boost::asio::async_read_until(stream_, boost::asio::dynamic_buffer(raw_), marker,
                                    [done](boost::beast::error_code e, size_t) { done(e); });
    });
    if (!ec) {
      const size_t end = raw_.find(marker) + marker.size();
      out = raw_.substr(0, end);
      raw_.erase(0, end);
    }
    return out;
  }

  // Whether the server closes the connection (end of stream or reset) before the deadline,
  // discarding anything it still sends.
  bool WaitForClose() {
    std::array<char, 4096> scratch;
    for (;;) {
      boost::beast::error_code ec = Run([&](Done done) {
        stream_.async_read_some(boost::asio::buffer(scratch),
                                [done](boost::beast::error_code e, size_t) { done(e); });
      });
      if (ec == boost::beast::error::timeout) return false;
      if (ec) return true;
    }
  }

  void Close() {
    boost::beast::error_code ignored;
    stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

 private:
  using Done = std::function<void(boost::beast::error_code)>;

  // Starts one operation and runs the private io_context until it completes (or times out).
  boost::beast::error_code Run(const std::function<void(Done)>& start) {
    boost::beast::error_code result = boost::asio::error::would_block;
    stream_.expires_after(timeout_);
    start([&result](boost::beast::error_code ec) { result = ec; });
    ioc_.restart();
    ioc_.run();
    return result;
  }

  std::chrono::milliseconds timeout_;
  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_{ioc_};
  boost::beast::flat_buffer buffer_;
  std::string raw_;
  boost::beast::error_code connect_error_;
};

// One request on a fresh connection.
inline ClientResponse Fetch(uint16_t port, const std::string& method, const std::string& target,
                            const std::string& body = "", const TestClient::Headers& headers = {}) {
  TestClient client(port);
  if (!client.connected()) {
    ClientResponse r;
    r.error = "connect: " + client.connect_error();
    return r;
  }
  return client.Request(method, target, body, headers);
}

}  // namespace sprawl::admin::testing
