#include "troupe/bridges/remote_nodes.hpp"

#include "troupe/bridges/curve.hpp"
#include "troupe/bridges/hub.hpp"
#include "troupe/config.hpp"
#include "troupe/errc.hpp"

namespace troupe::bridges {

namespace {

std::chrono::milliseconds ms(timespan x) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(x);
}

class hub_nodes : public remote_nodes {
public:
  hub_nodes(caf::actor_system& sys, std::string node, hub_options opts, hub::name_resolver resolve)
    : hub_(sys, std::move(node), std::move(opts), std::move(resolve)) {
    // nop
  }

  caf::expected<std::string> listen(const std::string& endpoint) override {
    return hub_.listen(endpoint);
  }

  caf::error connect(const std::string& peer, const std::string& endpoint,
                     timespan timeout) override {
    // The hub bounds one attempt by its connect_timeout; a peer that is still starting gets
    // further attempts until `timeout` is used up.
    auto deadline = std::chrono::steady_clock::now() + timeout;
    caf::error err;
    do {
      err = hub_.connect(peer, endpoint);
      if (!err || hub_.connected(peer))
        return caf::none;
      if (err == errc::bad_config || err == errc::invalid_state)
        return err; // another node answers there, or the hub stopped: retrying cannot help
    } while (std::chrono::steady_clock::now() < deadline);
    return err;
  }

  bool connected(const std::string& peer) const override {
    return hub_.connected(peer);
  }

  caf::expected<caf::actor> lookup(const std::string& peer, const std::string& name,
                                   timespan timeout) override {
    return hub_.remote_lookup(peer, name, ms(timeout));
  }

  void stop() override {
    hub_.stop();
  }

private:
  hub hub_;
};

} // namespace

caf::expected<std::unique_ptr<remote_nodes>> make_remote_nodes(const remote_context& ctx) {
  hub_options opts;
  opts.heartbeat_interval = ms(ctx.app.bridges.heartbeat_interval);
  opts.heartbeat_timeout = ms(ctx.app.bridges.heartbeat_timeout);
  opts.connect_timeout
    = std::min(ms(ctx.app.bridges.connect_timeout), std::chrono::milliseconds{1000});
  opts.logger = ctx.logger;
  if (!ctx.app.bridges.curve_key.empty()) {
    auto keys = read_curve_key_file(ctx.app.bridges.curve_key);
    if (!keys)
      return std::move(keys.error());
    opts.curve_public_key = keys->public_key;
    opts.curve_secret_key = keys->secret_key;
  }
  opts.shm.name = ctx.app.name + "." + ctx.node;
  opts.shm.ring_capacity = ctx.app.bridges.shm_ring_size;
  opts.shm.wait.spin = ctx.app.bridges.shm_spin;
  return std::unique_ptr<remote_nodes>{
    new hub_nodes(ctx.system, ctx.node, std::move(opts), ctx.resolve_local)};
}

} // namespace troupe::bridges
