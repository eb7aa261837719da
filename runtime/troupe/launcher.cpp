#include "troupe/launcher.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <spdlog/spdlog.h>

namespace troupe {

namespace {

constexpr const char* ready_fd_env = "TROUPE_READY_FD";

struct child {
  std::string node;
  pid_t pid = -1;
  bool alive = false;
};

std::string describe_status(int status) {
  if (WIFEXITED(status))
    return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return std::string{"was killed by signal "} + strsignal(WTERMSIG(status));
  return "stopped";
}

/// Starts one node and waits for its ready line; returns the pid or -1.
pid_t start_node(const app_spec& app, const launch_options& opts, const std::string& node,
                 spdlog::logger& log) {
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
    execl(opts.exe.c_str(), opts.exe.c_str(), "run", app.file.c_str(), "--node", node.c_str(),
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

int launch_app(const app_spec& app, const launch_options& opts, spdlog::logger& log) {
  std::vector<child> children;
  for (auto& n : app.nodes) {
    if (!n.launch)
      continue;
    auto pid = start_node(app, opts, n.name, log);
    if (pid < 0) {
      stop_nodes(children, opts, log);
      return 1;
    }
    children.push_back({n.name, pid, true});
    log.info("launcher: node {} ready (pid {})", n.name, pid);
  }
  log.info("launcher: app {} running with {} nodes", app.name, children.size());
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGCHLD);
  int rc = 0;
  for (bool running = true; running;) {
    siginfo_t info;
    auto sig = sigwaitinfo(&set, &info);
    if (sig == SIGINT || sig == SIGTERM) {
      log.info("launcher: signal {}, stopping app {}", sig, app.name);
      running = false;
    } else if (sig == SIGCHLD) {
      int status = 0;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (auto& c : children) {
          if (c.pid == pid && c.alive) {
            c.alive = false;
            log.error("launcher: node {} (pid {}) {}; stopping the app", c.node, pid,
                      describe_status(status));
            running = false;
            rc = 1;
          }
        }
      }
    }
  }
  stop_nodes(children, opts, log);
  // A node killed hard leaves its ipc socket file behind; all nodes are gone now, so remove them.
  for (auto& c : children) {
    auto spec = app.find_node(c.node);
    if (spec && spec->listen.rfind("ipc://", 0) == 0)
      ::unlink(spec->listen.substr(6).c_str());
  }
  log.info("launcher: app {} stopped", app.name);
  return rc;
}

void notify_ready() {
  auto fd_text = std::getenv(ready_fd_env);
  if (fd_text == nullptr)
    return;
  auto fd = std::atoi(fd_text);
  unsetenv(ready_fd_env);
  if (fd <= 2)
    return;
  auto ignored = write(fd, "ready\n", 6);
  static_cast<void>(ignored);
  close(fd);
}

} // namespace troupe
