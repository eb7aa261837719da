#pragma once

// What the benchmark programs share: the far side of a measurement as a forked child process.

#include <chrono>
#include <cstdio>
#include <functional>
#include <string>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace troupe::bench {

/// A forked child running `fn(ready_fd, ctl_fd)`: it writes one line to `ready_fd` when ready
/// ("ready" data, e.g. its bound endpoint) and runs until its control pipe `ctl_fd` closes. Fork
/// it before the parent creates any thread.
class child_process {
public:
  using body = std::function<void(int ready_fd, int ctl_fd)>;

  ~child_process() {
    stop();
  }

  /// Forks, runs `in_child` (e.g. CPU pinning; may be empty) and then `fn` in the child; returns
  /// the child's ready line, or an empty string on failure or after 20 s of silence.
  std::string start(const std::function<void()>& in_child, body fn) {
    using clk = std::chrono::steady_clock;
    int ready[2];
    int ctl[2];
    if (pipe(ready) != 0 || pipe(ctl) != 0)
      return {};
    std::fflush(stdout);
    std::fflush(stderr);
    pid_ = fork();
    if (pid_ < 0)
      return {};
    if (pid_ == 0) {
      close(ready[0]);
      close(ctl[1]);
      if (in_child)
        in_child();
      fn(ready[1], ctl[0]);
      _exit(0);
    }
    close(ready[1]);
    close(ctl[0]);
    ctl_fd_ = ctl[1];
    std::string line;
    pollfd pfd{ready[0], POLLIN, 0};
    auto deadline = clk::now() + std::chrono::seconds{20};
    while (clk::now() < deadline) {
      if (poll(&pfd, 1, 100) <= 0)
        continue;
      char c;
      if (read(ready[0], &c, 1) <= 0 || c == '\n')
        break;
      line += c;
    }
    close(ready[0]);
    return line;
  }

  /// Closes the control pipe and waits up to 5 s for the child to exit, then kills it.
  void stop() {
    using clk = std::chrono::steady_clock;
    if (ctl_fd_ >= 0) {
      close(ctl_fd_);
      ctl_fd_ = -1;
    }
    if (pid_ <= 0)
      return;
    auto deadline = clk::now() + std::chrono::seconds{5};
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (clk::now() > deadline) {
        std::fprintf(stderr, "child process %d does not exit: killing it\n", pid_);
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      usleep(1000);
    }
    pid_ = -1;
  }

  /// Returns the child's pid, -1 when there is none.
  pid_t pid() const {
    return pid_;
  }

private:
  pid_t pid_ = -1;
  int ctl_fd_ = -1;
};

/// Writes `s` and a newline to `fd`, then closes it (the child's ready line).
inline void write_line(int fd, const std::string& s) {
  auto line = s + "\n";
  auto res = write(fd, line.data(), line.size());
  static_cast<void>(res);
  close(fd);
}

/// Blocks until the other end of `fd` is closed (the child's control pipe).
inline void wait_eof(int fd) {
  char buf[64];
  while (read(fd, buf, sizeof(buf)) > 0) {
    // nop
  }
}

} // namespace troupe::bench
