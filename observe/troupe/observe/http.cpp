#include "troupe/observe/http.hpp"

#include <chrono>
#include <thread>

#include <httplib.h>

#include "troupe/errc.hpp"

namespace troupe::observe {

struct http_server::impl {
  httplib::Server server;
  std::thread thread;
};

http_server::http_server(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {
  // nop
}

http_server::~http_server() {
  stop();
}

caf::expected<std::unique_ptr<http_server>> http_server::start(const std::string& address,
                                                               http_handler handler) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos)
    return make_error(errc::bad_config, "not HOST:PORT: " + address);
  auto host = address.substr(0, colon);
  int port = 0;
  try {
    port = std::stoi(address.substr(colon + 1));
  } catch (const std::exception&) {
    return make_error(errc::bad_config, "not HOST:PORT: " + address);
  }
  auto st = std::make_unique<impl>();
  // Two threads are plenty for scrapes and one browser; httplib's default is one per core (>= 8).
  st->server.new_task_queue = [] { return new httplib::ThreadPool(2); };
  st->server.Get(
    ".*", [handler = std::move(handler)](const httplib::Request& req, httplib::Response& res) {
      http_request r;
      r.path = req.path;
      for (auto& [k, v] : req.params)
        r.query[k] = v;
      r.accept = req.get_header_value("Accept");
      http_response out;
      try {
        out = handler(r);
      } catch (const std::exception& x) {
        out = {500, "text/plain; charset=utf-8", std::string{"internal error: "} + x.what() + "\n"};
      }
      res.status = out.status;
      res.set_header("Cache-Control", "no-store");
      res.set_content(out.body, out.content_type.c_str());
    });
  if (!st->server.bind_to_port(host.c_str(), port))
    return make_error(errc::system_error,
                      "cannot serve HTTP at " + address + " (address in use or not local?)");
  auto* srv = &st->server;
  st->thread = std::thread{[srv] { srv->listen_after_bind(); }};
  // `stop` before the thread entered its accept loop would be lost (the loop would never end).
  for (int i = 0; i < 500 && !srv->is_running(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds{2});
  return std::unique_ptr<http_server>{new http_server(std::move(st))};
}

void http_server::stop() {
  if (!impl_)
    return;
  impl_->server.stop();
  if (impl_->thread.joinable())
    impl_->thread.join();
}

} // namespace troupe::observe
