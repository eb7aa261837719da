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
  hub_nodes(caf::actor_system& sys, std::string node, const app_spec& app, hub_options opts,
            hub::name_resolver resolve)
    : node_(node), app_(app), hub_(sys, std::move(node), std::move(opts), std::move(resolve)) {
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

  bridges_report report() const override {
    auto st = hub_.stats();
    bridges_report result;
    result.queue_depth = st.queue_depth;
    result.bad_frames = st.bad_frames;
    for (auto& p : st.peers) {
      bridge_report r;
      r.peer = p.node;
      // Whichever side opened the bridge, it runs over the endpoint of the listening side.
      auto ep = app_.endpoint_for(node_, p.node);
      if (ep.empty())
        ep = app_.endpoint_for(p.node, node_);
      auto colon = ep.find("://");
      r.transport = colon == std::string::npos ? std::string{"?"} : ep.substr(0, colon);
      r.connected = p.connected;
      r.frames_in = p.frames_in;
      r.frames_out = p.frames_out;
      r.bytes_in = p.bytes_in;
      r.bytes_out = p.bytes_out;
      r.errors = p.errors;
      r.dropped = p.dropped;
      r.pending_requests = p.pending_requests;
      r.rtt_last_us = p.rtt_last_us;
      r.rtt_sum_us = p.rtt_sum_us;
      r.rtt_count = p.rtt_count;
      r.rtt_buckets = p.rtt_buckets;
      result.peers.push_back(std::move(r));
    }
    return result;
  }

private:
  std::string node_;
  app_spec app_;
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
    new hub_nodes(ctx.system, ctx.node, ctx.app, std::move(opts), ctx.resolve_local)};
}

} // namespace troupe::bridges
