#pragma once
// Running the real `hypertune` binary (or any program) from tests: capture output and exit
// status, or start it in the background and signal it. No shell involved.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace hypertune::test {

struct ProcessResult {
  int exit_code = -1;   // -1 when killed by a signal
  int signal = 0;
  std::string out;      // stdout and stderr, interleaved
};

class Process {
 public:
  // Starts argv[0] with argv; stdout+stderr go to `log_path` (or are captured when empty).
  explicit Process(const std::vector<std::string>& argv, const std::string& log_path = "") {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::setpgid(0, 0);
      int out = fds[1];
      if (!log_path.empty()) out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(out, 1);
      ::dup2(out, 2);
      ::close(fds[0]);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    read_fd_ = fds[0];
    reader_ = std::thread([this] {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(read_fd_, buf, sizeof buf)) > 0) out_.append(buf, static_cast<size_t>(n));
    });
  }
  ~Process() {
    if (!waited_) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      (void)wait();
    }
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  void signal(int sig) { ::kill(pid_, sig); }

  ProcessResult wait() {
    int status = 0;
    if (!waited_) {
      ::waitpid(pid_, &status, 0);
      waited_ = true;
      reader_.join();
      ::close(read_fd_);
      result_.out = out_;
      if (WIFEXITED(status)) result_.exit_code = WEXITSTATUS(status);
      if (WIFSIGNALED(status)) result_.signal = WTERMSIG(status);
    }
    return result_;
  }

 private:
  pid_t pid_ = -1;
  int read_fd_ = -1;
  std::thread reader_;
  std::string out_;
  bool waited_ = false;
  ProcessResult result_;
};

inline ProcessResult run_process(const std::vector<std::string>& argv) {
  Process p(argv);
  return p.wait();
}

// Polls `cond` every 20 ms until it holds or `timeout` passes; returns whether it held.
template <class F>
bool wait_until(F cond, std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

// True once `pid` is gone within `timeout`: no such process, or a zombie whose reaper is not us.
inline bool process_gone(pid_t pid, std::chrono::milliseconds timeout = std::chrono::milliseconds(3000)) {
  return wait_until(
      [pid] {
        if (::kill(pid, 0) != 0 && errno == ESRCH) return true;
        std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
        std::string line;
        if (!std::getline(stat, line)) return false;
        const auto close = line.rfind(')');
        return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
      },
      timeout);
}

}  // namespace hypertune::test
