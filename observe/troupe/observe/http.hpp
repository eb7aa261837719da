#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "caf/expected.hpp"

namespace troupe::observe {

/// What an HTTP handler answers.
struct http_response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

/// One GET request: path, query parameters and the `Accept` header.
struct http_request {
  std::string path;
  std::map<std::string, std::string> query;
  std::string accept;
};

/// Answers a GET request; called on one of the server's threads.
using http_handler = std::function<http_response(const http_request&)>;

/// A small HTTP/1.1 server (cpp-httplib) answering GET requests on two threads of its own.
/// @note `stop` and the destructor may be called from any thread but one of the server's.
class http_server {
public:
  /// Binds `address` (`HOST:PORT`) and starts serving with `handler`. Fails with
  /// `errc::system_error` naming the address when it cannot bind.
  static caf::expected<std::unique_ptr<http_server>> start(const std::string& address,
                                                           http_handler handler);

  ~http_server();

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Stops accepting and waits for the serving thread; idempotent.
  void stop();

private:
  struct impl;
  explicit http_server(std::unique_ptr<impl> ptr);
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::observe
