#include "troupe/launcher.hpp"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <iterator>
#include <limits.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <spdlog/spdlog.h>

#include "troupe/duration.hpp"
#include "troupe/events.hpp"

namespace troupe {

namespace {

constexpr const char* ready_fd_env = "TROUPE_READY_FD";

struct child {
  std::string node;
  pid_t pid = -1;
  bool alive = false;
  /// Dead and being started again.
  bool restarting = false;
  long restarts = 0;
  std::string last_exit;
};

void remove_ipc_file(const app_spec& app, const std::string& node) {
  auto spec = app.find_node(node);
  if (spec)
    for (auto& ep : spec->endpoints)
      if (ep.rfind("ipc://", 0) == 0)
        ::unlink(ep.substr(6).c_str());
}

void publish(const app_spec& app, const std::vector<child>& children) {
  run_info info;
  info.pid = getpid();
  for (auto& c : children)
    info.nodes.push_back({c.node, c.alive ? static_cast<long>(c.pid) : 0L, c.restarts,
                          c.alive ? "running" : (c.restarting ? "restarting" : "stopped"),
                          c.last_exit});
  write_run_file(app.run_file(), info);
}

std::string describe_status(int status) {
  if (WIFEXITED(status))
    return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return std::string{"was killed by signal "} + strsignal(WTERMSIG(status));
  return "stopped";
}

/// Starts one node and waits for its ready line; returns the pid or -1.
pid_t start_node(const app_spec& app, const launch_options& opts, const std::string& node,
                 const std::string& app_file, spdlog::logger& log) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    log.error("launcher: pipe: {}", std::strerror(errno));
    return -1;
  }
  auto parent = getpid();
  auto pid = fork();
  if (pid < 0) {
    log.error("launcher: fork: {}", std::strerror(errno));
    return -1;
  }
  if (pid == 0) {
    // Child: die with the launcher (no orphans even after kill -9 of the launcher).
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
      _exit(1);
    int ready = dup(fds[1]); // without O_CLOEXEC, so it survives exec
    setenv(ready_fd_env, std::to_string(ready).c_str(), 1);
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, nullptr);
    execl(opts.exe.c_str(), opts.exe.c_str(), "run", app_file.c_str(), "--node", node.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  pollfd pfd{fds[0], POLLIN, 0};
  std::string got;
  auto deadline = std::chrono::steady_clock::now() + opts.ready_timeout;
  while (got.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || poll(&pfd, 1, static_cast<int>(left.count())) <= 0)
      break;
    char buf[64];
    auto n = read(fds[0], buf, sizeof(buf));
    if (n <= 0)
      break; // the child exited or closed the pipe without reporting ready
    got.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  if (got.rfind("ready", 0) != 0) {
    if (got.rfind("failed ", 0) == 0)
      log.error("launcher: node {} (pid {}) failed to start: {}", node, pid,
                got.substr(7, got.find('\n') - 7));
    else
      log.error("launcher: node {} (pid {}) did not become ready; see its log in {}", node, pid,
                app.log_dir);
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return -1;
  }
  return pid;
}

void stop_nodes(std::vector<child>& children, const launch_options& opts, spdlog::logger& log) {
  for (auto i = children.rbegin(); i != children.rend(); ++i) {
    if (!i->alive)
      continue;
    kill(i->pid, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + opts.stop_timeout;
    int status = 0;
    while (true) {
      auto r = waitpid(i->pid, &status, WNOHANG);
      if (r == i->pid)
        break;
      if (std::chrono::steady_clock::now() >= deadline) {
        log.error("launcher: node {} did not stop within {} ms; killing it", i->node,
                  opts.stop_timeout.count());
        kill(i->pid, SIGKILL);
        waitpid(i->pid, &status, 0);
        break;
      }
      usleep(10000);
    }
    i->alive = false;
    log.info("launcher: node {} {}", i->node, describe_status(status));
  }
}

} // namespace

std::string app_snapshot_file(const app_spec& app) {
  return app.run_file() + ".toml";
}

int launch_app(const app_spec& app, const launch_options& opts, spdlog::logger& log) {
  // One app file per run: every node, restarts included, reads this copy of what was loaded, so
  // that an edit of the file during the run cannot make nodes disagree.
  auto snapshot = app_snapshot_file(app);
  {
    auto tmp = snapshot + ".tmp";
    auto f = std::fopen(tmp.c_str(), "w");
    if (f == nullptr || std::fwrite(app.text.data(), 1, app.text.size(), f) != app.text.size()
        || std::fclose(f) != 0 || std::rename(tmp.c_str(), snapshot.c_str()) != 0) {
      log.error("launcher: cannot write the app snapshot {}: {}", snapshot, std::strerror(errno));
      return 1;
    }
  }
  log.info("launcher: app {} (hash {}) from {}; nodes read {}", app.name, app.hash, app.file,
           snapshot);
  open_events(app, "launcher");
  std::vector<child> children;
  // A node that hosts actors supervised from another node starts before that node.
  for (auto& name : app.node_start_order()) {
    auto& n = *app.find_node(name);
    if (!n.launch)
      continue;
    remove_ipc_file(app, n.name); // left behind by a node of an earlier run that was killed
    auto pid = start_node(app, opts, n.name, snapshot, log);
    if (pid < 0) {
      stop_nodes(children, opts, log);
      ::unlink(snapshot.c_str());
      return 1;
    }
    children.push_back({n.name, pid, true, false, 0, {}});
    log.info("launcher: node {} ready (pid {})", n.name, pid);
    emit_event("node_started", {{"node", n.name}, {"pid", pid}});
    publish(app, children);
  }
  log.info("launcher: app {} running with {} nodes", app.name, children.size());
  emit_event("app_started", {{"nodes", children.size()}, {"pid", ::getpid()}});
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGCHLD);
  std::vector<std::chrono::steady_clock::time_point> restarts; // app-wide, like one supervisor
  int rc = 0;
  for (bool running = true; running;) {
    siginfo_t info;
    auto sig = sigwaitinfo(&set, &info);
    if (sig == SIGINT || sig == SIGTERM) {
      log.info("launcher: signal {}, stopping app {}", sig, app.name);
      running = false;
      continue;
    }
    if (sig != SIGCHLD)
      continue;
    int status = 0;
    pid_t pid;
    while (running && (pid = waitpid(-1, &status, WNOHANG)) > 0) {
      for (auto& c : children) {
        if (c.pid != pid || !c.alive)
          continue;
        c.alive = false;
        c.last_exit = describe_status(status);
        emit_event("node_lost", {{"node", c.node}, {"pid", pid}, {"reason", c.last_exit}});
        auto now = std::chrono::steady_clock::now();
        restarts.erase(std::remove_if(restarts.begin(), restarts.end(),
                                      [&](auto t) { return now - t > app.launcher.within; }),
                       restarts.end());
        if (static_cast<int64_t>(restarts.size()) >= app.launcher.max_restarts) {
          log.error("launcher: node {} (pid {}) {}; restart intensity exceeded ({} restarts "
                    "within {}): stopping the app",
                    c.node, pid, describe_status(status), restarts.size(),
                    to_string_duration(app.launcher.within));
          emit_event("launcher_gave_up",
                     {{"node", c.node}, {"reason", "restart intensity exceeded"}});
          running = false;
          rc = 1;
          break;
        }
        restarts.push_back(now);
        log.warn("launcher: node {} (pid {}) {}; restarting it", c.node, pid,
                 describe_status(status));
        remove_ipc_file(app, c.node);
        c.restarting = true;
        publish(app, children); // "restarting" while the node starts (and becomes ready)
        auto fresh = start_node(app, opts, c.node, snapshot, log);
        c.restarting = false;
        if (fresh < 0) {
          log.error("launcher: node {} could not be restarted; stopping the app", c.node);
          emit_event("launcher_gave_up", {{"node", c.node}, {"reason", "restart failed"}});
          running = false;
          rc = 1;
          break;
        }
        c.pid = fresh;
        c.alive = true;
        ++c.restarts;
        log.warn("launcher: node {} restarted (pid {}, restart {})", c.node, fresh, c.restarts);
        emit_event("node_restarted", {{"node", c.node}, {"pid", fresh}, {"restarts", c.restarts}});
      }
      publish(app, children);
    }
  }
  stop_nodes(children, opts, log);
  // A node killed hard leaves its ipc socket file behind; all nodes are gone now, so remove them.
  for (auto& c : children)
    remove_ipc_file(app, c.node);
  ::unlink(app.run_file().c_str());
  ::unlink(snapshot.c_str());
  log.info("launcher: app {} stopped", app.name);
  emit_event("app_stopped", {{"status", rc}});
  return rc;
}

void write_run_file(const std::string& path, const run_info& info) {
  auto tmp = path + ".tmp";
  if (auto f = std::fopen(tmp.c_str(), "w")) {
    std::fprintf(f, "pid %ld\n", info.pid);
    for (auto& n : info.nodes)
      std::fprintf(f, "node %s %ld %ld %s %s\n", n.node.c_str(), n.pid, n.restarts, n.state.c_str(),
                   n.last_exit.c_str());
    std::fclose(f);
    std::rename(tmp.c_str(), path.c_str());
  }
}

std::optional<run_info> read_run_file(const std::string& path) {
  auto f = std::fopen(path.c_str(), "r");
  if (!f)
    return std::nullopt;
  run_info info;
  char kind[16];
  while (std::fscanf(f, "%15s", kind) == 1) {
    if (std::string{kind} == "pid") {
      if (std::fscanf(f, "%ld", &info.pid) != 1)
        break;
    } else if (std::string{kind} == "node") {
      char name[128];
      char state[32];
      run_entry e;
      if (std::fscanf(f, "%127s %ld %ld %31s", name, &e.pid, &e.restarts, state) != 4)
        break;
      e.node = name;
      e.state = state;
      // The rest of the line: how the last process ended (may contain spaces, may be empty).
      char rest[256];
      if (std::fgets(rest, sizeof(rest), f) != nullptr) {
        std::string text = rest;
        while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
          text.pop_back();
        auto first = text.find_first_not_of(' ');
        e.last_exit = first == std::string::npos ? std::string{} : text.substr(first);
      }
      info.nodes.push_back(std::move(e));
    } else {
      break;
    }
  }
  std::fclose(f);
  if (info.pid <= 0)
    return std::nullopt;
  return info;
}

namespace {

/// Writes `line` to the launcher's ready pipe once and closes it.
void notify_launcher(std::string line) {
  auto fd_text = std::getenv(ready_fd_env);
  if (fd_text == nullptr)
    return;
  auto fd = std::atoi(fd_text);
  unsetenv(ready_fd_env);
  if (fd <= 2)
    return;
  std::replace(line.begin(), line.end(), '\n', ' ');
  line += '\n';
  auto ignored = write(fd, line.data(), line.size());
  static_cast<void>(ignored);
  close(fd);
}

} // namespace

void notify_ready() {
  notify_launcher("ready");
}

void notify_failed(const std::string& why) {
  notify_launcher("failed " + why);
}

namespace {

std::string real_path(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) != nullptr ? std::string{buf} : std::string{};
}

} // namespace

bool is_run_of(long pid, const std::string& app_file) {
  if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM))
    return false;
  auto proc = "/proc/" + std::to_string(pid);
  std::ifstream in{proc + "/cmdline", std::ios::binary};
  if (!in)
    return ::access("/proc/self/cmdline", R_OK) != 0; // no /proc at all: cannot tell
  std::string all{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  std::vector<std::string> args;
  for (size_t pos = 0; pos < all.size();) {
    auto end = all.find('\0', pos);
    if (end == std::string::npos)
      end = all.size();
    args.push_back(all.substr(pos, end - pos));
    pos = end + 1;
  }
  if (std::find(args.begin(), args.end(), "run") == args.end())
    return false;
  auto wanted = real_path(app_file);
  char cwd[PATH_MAX];
  auto n = ::readlink((proc + "/cwd").c_str(), cwd, sizeof(cwd) - 1);
  std::string dir = n > 0 ? std::string(cwd, static_cast<size_t>(n)) : std::string{};
  for (size_t i = 1; i < args.size(); ++i) {
    auto& a = args[i];
    if (a.empty())
      continue;
    auto p = a[0] == '/' || dir.empty() ? a : dir + "/" + a;
    if (!wanted.empty() && real_path(p) == wanted)
      return true;
  }
  return false;
}

} // namespace troupe
