#include "troupe/signals.hpp"

#include <csignal>
#include <pthread.h>

namespace troupe {

namespace {

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

} // namespace

void block_stop_signals() {
  auto set = stop_signals();
  sigaddset(&set, SIGCHLD); // the launcher waits for node processes with sigwaitinfo
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_stop_signal() {
  auto set = stop_signals();
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
    // EINTR: wait again
  }
  return sig;
}

} // namespace troupe
