#include "troupe/name_handle.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "caf/actor_cast.hpp"
#include "caf/actor_system.hpp"
#include "caf/default_attachable.hpp"
#include "caf/exit_reason.hpp"
#include "caf/mailbox_element.hpp"
#include "caf/make_actor.hpp"
#include "caf/sec.hpp"

#include "troupe/errc.hpp"

namespace troupe {

// -- name_handle ----------------------------------------------------------------------------------

name_handle::name_handle(caf::actor_config& cfg, std::string name, std::string home,
                         name_buffer buf, timespan first_wait, std::function<void()> wake)
  : caf::monitorable_actor(cfg), label_(std::move(name)), home_(std::move(home)), buffer_(buf),
    first_wait_(first_wait), wake_(std::move(wake)) {
  // nop
}

name_handle::~name_handle() {
  // nop
}

const char* name_handle::name() const {
  return "troupe.name";
}

caf::error name_handle::unavailable() const {
  // precondition: state_mtx_ held
  return make_error(errc::unavailable, label_ + " is down: " + describe(why_));
}

void name_handle::refuse(caf::mailbox_element_ptr& what, const caf::error& err) {
  // precondition: state_mtx_ held (only counters are touched)
  if (what->mid.is_request()) {
    ++refused_;
    // Not monitorable_actor::bounce: its response_promise assumes a local_actor.
    if (what->sender)
      what->sender->enqueue(
        caf::make_mailbox_element(ctrl(), what->mid.response_id(), {}, caf::make_message(err)),
        nullptr);
  } else if (!what->mid.is_response()) {
    ++dropped_;
  }
}

bool name_handle::retryable(const caf::error& err) {
  return err == errc::peer_lost || err == caf::sec::request_receiver_down
         || err == caf::exit_reason::remote_link_unreachable;
}

void name_handle::track(caf::mailbox_element_ptr& what, clock_type::time_point deadline) {
  // precondition: state_mtx_ held; `what` is a request about to go to `target_`
  auto id = next_request_++ & caf::message_id::request_id_mask;
  inflight_.emplace(id, inflight_request{std::move(what->sender), what->mid,
                                         what->copy_content_to_message(), deadline, epoch_});
  what->sender = ctrl();
  what->mid = caf::message_id{(what->mid.integer_value() & ~caf::message_id::request_id_mask) | id};
}

void name_handle::answer(uint64_t id, caf::strong_actor_ptr responder, caf::message content,
                         caf::execution_unit* ctx) {
  // precondition: state_mtx_ held
  auto i = inflight_.find(id);
  if (i == inflight_.end())
    return; // answered or given up already
  auto req = std::move(i->second);
  inflight_.erase(i);
  if (req.sender)
    req.sender->enqueue(caf::make_mailbox_element(std::move(responder), req.mid.response_id(), {},
                                                  std::move(content)),
                        ctx);
}

caf::mailbox_element_ptr name_handle::resend_element(uint64_t id) {
  // precondition: state_mtx_ held
  auto& req = inflight_.at(id);
  req.epoch = epoch_;
  auto mid = caf::message_id{(req.mid.integer_value() & ~caf::message_id::request_id_mask) | id};
  return caf::make_mailbox_element(ctrl(), mid, {}, req.content);
}

void name_handle::enqueue(caf::mailbox_element_ptr what, caf::execution_unit* ctx) {
  caf::actor target;
  bool wake = false;
  {
    std::lock_guard<std::recursive_mutex> guard{state_mtx_};
    if (what->mid.is_response()) {
      // The answer to a request this handle forwarded for a caller (buffered names only).
      auto id = what->mid.request_id().integer_value() & caf::message_id::request_id_mask;
      auto i = inflight_.find(id);
      if (i == inflight_.end())
        return;
      auto& content = what->content();
      if (content.match_elements<caf::error>() && retryable(content.get_as<caf::error>(0))
          && phase_ != phase::stopped && i->second.deadline > clock_type::now()) {
        // Its incarnation went down before it answered: send it again to the next one (at least
        // once: it may have been handled), unless a newer one is bound already.
        if (phase_ == phase::bound && i->second.epoch != epoch_) {
          ++retried_;
          target = target_;
          what = resend_element(id);
        } else {
          parked_.push_back(id);
          return;
        }
      } else {
        answer(id, std::move(what->sender), what->move_content_to_message(), ctx);
        return;
      }
    } else {
      switch (phase_) {
        case phase::bound:
          // `bind` delivers what waited before it publishes the target: nothing can overtake.
          ++forwarded_;
          target = target_;
          if (buffer_.time.count() > 0 && what->mid.is_request())
            track(what, clock_type::now() + buffer_.time);
          break;
        case phase::resolving:
        case phase::down: {
          auto wait
            = phase_ == phase::resolving ? std::max(first_wait_, buffer_.time) : buffer_.time;
          if (wait.count() <= 0) {
            refuse(what, unavailable());
            return;
          }
          if (held_.size() + parked_.size() >= buffer_.max) {
            refuse(what, make_error(errc::overloaded, label_ + ": " + std::to_string(buffer_.max)
                                                        + " messages already wait for it"));
            return;
          }
          held_.push_back({std::move(what), clock_type::now() + wait});
          wake = true;
          break;
        }
        case phase::stopped: refuse(what, why_); return;
      }
    }
  }
  if (target)
    target->enqueue(std::move(what), ctx);
  else if (wake && wake_)
    wake_();
}

uint64_t name_handle::attempts() const {
  std::lock_guard<std::recursive_mutex> guard{state_mtx_};
  return attempts_;
}

bool name_handle::needs_lookup() const {
  std::lock_guard<std::recursive_mutex> guard{state_mtx_};
  return phase_ == phase::resolving || phase_ == phase::down;
}

void name_handle::bind(caf::actor target) {
  {
    std::lock_guard<std::recursive_mutex> guard{state_mtx_};
    if (phase_ == phase::stopped || !target)
      return;
    target_ = target;
    phase_ = phase::bound;
    why_ = caf::none;
    ++epoch_;
    ++attempts_;
    // Delivered under the lock, so that no new message overtakes a waiting one: first the
    // requests the previous incarnation did not answer, then what waited. A proxy that bounces a
    // request calls back into this handle on this thread (hence the recursive mutex); a bounce
    // parks the request again instead of looping.
    std::vector<caf::mailbox_element_ptr> out;
    std::sort(parked_.begin(), parked_.end());
    for (auto id : parked_)
      if (inflight_.count(id) > 0) {
        ++retried_;
        out.push_back(resend_element(id));
      }
    parked_.clear();
    while (!held_.empty()) {
      auto what = std::move(held_.front().element);
      held_.pop_front();
      ++forwarded_;
      if (buffer_.time.count() > 0 && what->mid.is_request())
        track(what, clock_type::now() + buffer_.time);
      out.push_back(std::move(what));
    }
    for (auto& what : out)
      target_->enqueue(std::move(what), nullptr);
  }
  auto weak = caf::actor_cast<caf::weak_actor_ptr>(ctrl());
  auto addr = target.address();
  // Runs at once when the incarnation is already gone.
  target->attach_functor([weak, addr](const caf::error& reason) {
    if (auto strong = caf::actor_cast<caf::strong_actor_ptr>(weak))
      static_cast<name_handle*>(caf::actor_cast<caf::abstract_actor*>(strong))
        ->target_down(addr, reason);
  });
}

void name_handle::target_down(const caf::actor_addr& which, const caf::error& reason) {
  {
    std::lock_guard<std::recursive_mutex> guard{state_mtx_};
    if (phase_ != phase::bound || target_.address() != which)
      return; // a stale incarnation
    target_ = nullptr;
    phase_ = phase::down;
    why_ = reason ? reason : caf::make_error(caf::exit_reason::normal);
  }
  notify_watchers(reason);
  if (wake_)
    wake_();
}

void name_handle::notify_watchers(const caf::error& reason) {
  // Monitors and links stay attached to the handle (it lives on): each incarnation that goes down
  // is reported to them with its own reason. Other attachables (e.g. a bridge watching this handle
  // for a peer) fire only when the handle itself ends.
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto p = attachables_head_.get(); p != nullptr; p = p->next.get())
    if (dynamic_cast<caf::default_attachable*>(p) != nullptr)
      p->actor_exited(reason, nullptr);
}

void name_handle::lookup_failed(const caf::error& why) {
  std::lock_guard<std::recursive_mutex> guard{state_mtx_};
  if (phase_ == phase::stopped || phase_ == phase::bound)
    return;
  auto first = phase_ == phase::resolving;
  phase_ = phase::down;
  ++attempts_;
  if (first || !why_)
    why_ = why;
  // Without a buffer, what waited for the first lookup is answered now; with one, it waits on.
  auto now = clock_type::now();
  for (auto i = held_.begin(); i != held_.end();) {
    if (buffer_.time.count() <= 0 || i->deadline <= now) {
      refuse(i->element, make_error(errc::unavailable, label_ + ": " + describe(why)));
      i = held_.erase(i);
    } else {
      ++i;
    }
  }
}

void name_handle::expire(clock_type::time_point now) {
  std::lock_guard<std::recursive_mutex> guard{state_mtx_};
  for (auto i = parked_.begin(); i != parked_.end();) {
    auto r = inflight_.find(*i);
    if (r == inflight_.end()) {
      i = parked_.erase(i);
    } else if (r->second.deadline <= now) {
      ++refused_;
      answer(*i, ctrl(),
             caf::make_message(
               make_error(errc::unavailable, label_ + " had no incarnation in time: "
                                               + (why_ ? describe(why_) : std::string{"lookup"}))),
             nullptr);
      i = parked_.erase(i);
    } else {
      ++i;
    }
  }
  while (!held_.empty() && held_.front().deadline <= now) {
    refuse(held_.front().element,
           make_error(errc::unavailable, label_ + " had no incarnation in time: "
                                           + (why_ ? describe(why_) : std::string{"lookup"})));
    held_.pop_front();
  }
}

void name_handle::shutdown(const caf::error& reason) {
  {
    std::lock_guard<std::recursive_mutex> guard{state_mtx_};
    if (phase_ == phase::stopped)
      return;
    phase_ = phase::stopped;
    why_ = reason;
    target_ = nullptr;
    while (!held_.empty()) {
      refuse(held_.front().element, reason);
      held_.pop_front();
    }
    auto ids = std::move(parked_);
    for (auto id : ids)
      answer(id, ctrl(), caf::make_message(reason), nullptr);
    // Requests still out with an incarnation get their answers through the bridge (or its
    // loss); without this handle they cannot be relayed: fail them now.
    std::vector<uint64_t> rest;
    for (auto& kvp : inflight_)
      rest.push_back(kvp.first);
    for (auto id : rest)
      answer(id, ctrl(), caf::make_message(reason), nullptr);
  }
  cleanup(caf::error{reason}, nullptr);
}

name_stats name_handle::stats() const {
  std::lock_guard<std::recursive_mutex> guard{state_mtx_};
  name_stats result;
  result.name = label_;
  result.home = home_;
  switch (phase_) {
    case phase::resolving: result.state = "resolving"; break;
    case phase::bound: result.state = "bound"; break;
    case phase::down: result.state = "down"; break;
    case phase::stopped: result.state = "stopped"; break;
  }
  result.epoch = epoch_;
  result.forwarded = forwarded_;
  result.refused = refused_;
  result.dropped = dropped_;
  result.held = held_.size() + parked_.size();
  result.retried = retried_;
  if (why_)
    result.why = describe(why_);
  return result;
}

// -- name_service ---------------------------------------------------------------------------------

namespace {

name_handle* as_name(const caf::strong_actor_ptr& x) {
  return static_cast<name_handle*>(caf::actor_cast<caf::abstract_actor*>(x));
}

} // namespace

struct name_service::worker {
  std::string home;
  std::thread thread;
  std::condition_variable cv;
  /// Something changed: a handle needs a lookup, or `stop`.
  bool woken = false;
  bool keep_connected = false;
  /// Lookup rounds finished (each handle that needed one got a result).
  uint64_t rounds = 0;
  std::vector<caf::strong_actor_ptr> handles;
};

name_service::name_service(caf::actor_system& sys, connect_fn connect, lookup_fn lookup,
                           timespan first_wait, std::shared_ptr<spdlog::logger> log)
  : sys_(sys), connect_(std::move(connect)), lookup_(std::move(lookup)), first_wait_(first_wait),
    log_(std::move(log)) {
  // nop
}

name_service::~name_service() {
  stop();
}

name_service::worker& name_service::worker_for(const std::string& home) {
  // precondition: mtx_ held
  auto& w = workers_[home];
  if (!w) {
    w = std::make_unique<worker>();
    w->home = home;
    w->thread = std::thread{[this, wp = w.get()] { run(*wp); }};
  }
  return *w;
}

caf::actor name_service::handle(const std::string& name, const std::string& home, name_buffer buf) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (stopped_)
    return {};
  auto i = handles_.find(name);
  if (i != handles_.end())
    return caf::actor_cast<caf::actor>(i->second);
  auto& w = worker_for(home);
  auto wake = [this, wp = &w] {
    std::lock_guard<std::mutex> g{mtx_};
    wp->woken = true;
    wp->cv.notify_all();
  };
  caf::actor_config cfg;
  auto ptr = caf::make_actor<name_handle, caf::strong_actor_ptr>(
    sys_.next_actor_id(), sys_.node(), &sys_, cfg, name, home, buf, first_wait_, std::move(wake));
  handles_.emplace(name, ptr);
  w.handles.push_back(ptr);
  w.woken = true;
  w.cv.notify_all();
  return caf::actor_cast<caf::actor>(ptr);
}

caf::expected<caf::actor> name_service::resolve(const std::string& name, const std::string& home,
                                                name_buffer buf) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto i = handles_.find(name);
    if (i != handles_.end())
      return caf::actor_cast<caf::actor>(i->second);
  }
  auto hdl = handle(name, home, buf);
  if (!hdl)
    return make_error(errc::invalid_state, "the node is stopping");
  auto* nh = static_cast<name_handle*>(caf::actor_cast<caf::abstract_actor*>(hdl));
  std::unique_lock<std::mutex> guard{mtx_};
  auto& w = *workers_.at(home);
  // The worker's round is itself bounded (connect + lookup timeouts); this bound is a backstop.
  w.cv.wait_for(guard, first_wait_ + std::chrono::seconds{1},
                [&] { return stopped_ || nh->attempts() > 0; });
  guard.unlock();
  auto st = nh->stats();
  if (st.state == "bound")
    return hdl;
  // Forget the handle: a later lookup of a mistyped name should fail again, not return it.
  {
    std::lock_guard<std::mutex> g{mtx_};
    handles_.erase(name);
    auto& hs = w.handles;
    hs.erase(std::remove_if(hs.begin(), hs.end(), [&](auto& h) { return as_name(h) == nh; }),
             hs.end());
  }
  nh->shutdown(make_error(errc::unavailable, name + ": " + st.why));
  return make_error(errc::unavailable, st.why.empty() ? name + ": no answer" : st.why);
}

void name_service::keep_connected(const std::string& home) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (stopped_)
    return;
  auto& w = worker_for(home);
  w.keep_connected = true;
  w.woken = true;
  w.cv.notify_all();
}

void name_service::run(worker& w) {
  using namespace std::chrono;
  auto backoff = milliseconds{0};
  auto next_try = name_handle::clock_type::now();
  bool was_connected = false;
  std::unique_lock<std::mutex> guard{mtx_};
  while (!stopped_) {
    w.cv.wait_for(guard, milliseconds{50}, [&] { return stopped_ || w.woken; });
    if (stopped_)
      break;
    w.woken = false;
    auto handles = w.handles;
    guard.unlock();
    auto now = name_handle::clock_type::now();
    for (auto& h : handles)
      as_name(h)->expire(now);
    std::vector<name_handle*> todo;
    for (auto& h : handles)
      if (as_name(h)->needs_lookup())
        todo.push_back(as_name(h));
    if ((todo.empty() && !w.keep_connected) || now < next_try) {
      guard.lock();
      continue;
    }
    auto err = connect_(w.home);
    if (err && todo.empty()) {
      if (was_connected && log_)
        log_->info("names: node {} unreachable: {}", w.home, describe(err));
      was_connected = false;
    } else if (!err) {
      was_connected = true;
    }
    bool failed = static_cast<bool>(err);
    for (auto& h : todo) {
      if (err) {
        h->lookup_failed(err);
        continue;
      }
      auto hdl = lookup_(w.home, h->label());
      if (hdl) {
        h->bind(std::move(*hdl));
        if (log_)
          log_->info("names: {} bound to its incarnation on node {} (epoch {})", h->label(), w.home,
                     h->stats().epoch);
      } else {
        failed = true;
        h->lookup_failed(hdl.error());
      }
    }
    // Retry soon after a failure, then less often: a restarting node registers its names within
    // milliseconds to seconds; an absent one must not cost a busy loop.
    if (failed) {
      backoff = backoff.count() == 0 ? milliseconds{20} : std::min(backoff * 2, milliseconds{500});
      next_try = name_handle::clock_type::now() + backoff;
    } else {
      backoff = milliseconds{0};
      next_try = name_handle::clock_type::now();
    }
    guard.lock();
    ++w.rounds;
    w.cv.notify_all();
    // Keep trying while a handle waits or the bridge must stay up.
    if (failed || (w.keep_connected && !was_connected))
      w.woken = true;
  }
}

std::vector<name_stats> name_service::stats() const {
  std::vector<caf::strong_actor_ptr> hs;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& kvp : handles_)
      hs.push_back(kvp.second);
  }
  std::vector<name_stats> result;
  for (auto& h : hs)
    result.push_back(as_name(h)->stats());
  return result;
}

void name_service::begin_stop() {
  std::lock_guard<std::mutex> guard{mtx_};
  stopped_ = true;
  for (auto& kvp : workers_)
    kvp.second->cv.notify_all();
}

void name_service::stop() {
  std::map<std::string, std::unique_ptr<worker>> workers;
  std::map<std::string, caf::strong_actor_ptr> handles;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stopped_ = true;
    for (auto& kvp : workers_)
      kvp.second->cv.notify_all();
    workers.swap(workers_);
    handles.swap(handles_);
  }
  for (auto& kvp : workers)
    if (kvp.second->thread.joinable())
      kvp.second->thread.join();
  for (auto& kvp : handles)
    as_name(kvp.second)->shutdown(make_error(caf::exit_reason::user_shutdown));
}

} // namespace troupe
