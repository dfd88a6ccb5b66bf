#include "cli/local_cluster.h"

#include "cli/gpus.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

#include "base/error.h"

namespace hypertune::cli {

using Clock = std::chrono::steady_clock;

std::string WorkerExit::describe() const {
  std::string s = "worker " + std::to_string(index) + " (pid " + std::to_string(pid) + ") ";
  if (code) return s + "exited with status " + std::to_string(*code);
  if (signal) return s + "was killed by signal " + std::to_string(*signal) + " (" + ::strsignal(*signal) + ")";
  return s + "ended";
}

LocalCluster::LocalCluster(LocalClusterOptions options) : opt_(std::move(options)) {
  if (opt_.endpoint.empty()) throw Error("LocalCluster: no endpoint to connect the workers to");
  if (opt_.workers < 1) throw ConfigError("--workers", "must be at least 1, got " + std::to_string(opt_.workers));
  if (opt_.log_dir) {
    std::error_code ec;
    std::filesystem::create_directories(*opt_.log_dir, ec);
    if (ec) throw Error("cannot create the worker log directory " + *opt_.log_dir + ": " + ec.message());
  }
  try {
    for (int i = 0; i < opt_.workers; ++i) spawn(i);
  } catch (...) {
    stop(std::chrono::milliseconds(500));
    throw;
  }
}

LocalCluster::~LocalCluster() { stop(); }

void LocalCluster::spawn(int index) {
  // Everything the child needs is built before fork(): between fork and exec a child of a
  // multi-threaded parent may only make async-signal-safe calls.
  std::vector<std::string> args = {opt_.executable,
                                   "worker",
                                   "--connect",
                                   opt_.endpoint,
                                   "--slots",
                                   std::to_string(opt_.slots_per_worker),
                                   "--name",
                                   opt_.name_prefix + std::to_string(index)};
  args.insert(args.end(), opt_.extra_args.begin(), opt_.extra_args.end());
  if (static_cast<size_t>(index) < opt_.worker_gpus.size() && !opt_.worker_gpus[static_cast<size_t>(index)].empty()) {
    args.push_back("--gpus");
    args.push_back(join_gpus(opt_.worker_gpus[static_cast<size_t>(index)]));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string log_path;
  if (opt_.log_dir) log_path = (std::filesystem::path(*opt_.log_dir) / ("worker-" + std::to_string(index) + ".log")).string();

  // exec failures come back through a close-on-exec pipe: EOF means exec succeeded.
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) throw Error(std::string("pipe: ") + std::strerror(errno));
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    throw Error(std::string("cannot start a worker: fork: ") + std::strerror(err));
  }
  if (pid == 0) {
    ::close(pipefd[0]);
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    if (!log_path.empty()) {
      const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd < 0) {
        const int err = errno;
        [[maybe_unused]] auto n = ::write(pipefd[1], &err, sizeof err);
        ::_exit(127);
      }
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
      ::close(fd);
    }
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
      ::dup2(devnull, STDIN_FILENO);
      ::close(devnull);
    }
    ::execv(argv[0], argv.data());
    const int err = errno;
    [[maybe_unused]] auto n = ::write(pipefd[1], &err, sizeof err);
    ::_exit(127);
  }
  ::close(pipefd[1]);
  // Set the group from the parent too, so a signal to the group cannot race the child's setpgid.
  ::setpgid(pid, pid);
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(pipefd[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  ::close(pipefd[0]);
  if (n > 0) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    throw Error("cannot start worker " + std::to_string(index) + " (" + opt_.executable + "): " +
                std::strerror(child_errno) + (log_path.empty() ? "" : " (log file " + log_path + ")"));
  }
  children_.push_back({index, pid, false});
}

WorkerExit LocalCluster::exit_of(const Child& c, int status) const {
  WorkerExit e;
  e.index = c.index;
  e.pid = c.pid;
  if (WIFEXITED(status)) e.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) e.signal = WTERMSIG(status);
  return e;
}

std::vector<WorkerExit> LocalCluster::reap_exited() {
  std::vector<WorkerExit> out;
  for (auto& c : children_) {
    if (c.reaped) continue;
    int status = 0;
    const pid_t r = ::waitpid(c.pid, &status, WNOHANG);
    if (r == c.pid) {
      c.reaped = true;
      out.push_back(exit_of(c, status));
      // Whatever the worker left in its group (a command trial's children) goes with it.
      ::kill(-c.pid, SIGKILL);
    }
  }
  return out;
}

std::vector<pid_t> LocalCluster::pids() const {
  std::vector<pid_t> out;
  for (const auto& c : children_) {
    if (!c.reaped) out.push_back(c.pid);
  }
  return out;
}

std::vector<WorkerExit> LocalCluster::stop(std::chrono::milliseconds grace) {
  std::vector<WorkerExit> out;
  auto wait_all = [&](Clock::time_point deadline) {
    for (;;) {
      for (auto& e : reap_exited()) out.push_back(e);
      if (pids().empty() || Clock::now() >= deadline) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  wait_all(Clock::now() + grace);
  if (pids().empty()) return out;
  for (pid_t p : pids()) ::kill(-p, SIGTERM);
  wait_all(Clock::now() + grace);
  for (auto& c : children_) {
    if (c.reaped) continue;
    ::kill(-c.pid, SIGKILL);
    int status = 0;
    while (::waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
    }
    c.reaped = true;
    out.push_back(exit_of(c, status));
  }
  return out;
}

}  // namespace hypertune::cli
