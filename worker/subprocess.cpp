#include "worker/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

extern char** environ;

namespace hypertune::worker {
namespace {

using Clock = std::chrono::steady_clock;

// What execvp() searches when the environment has no PATH.
constexpr std::string_view kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

std::string errno_text(int err) { return std::system_category().message(err); }

const char* signal_name(int sig) noexcept {
  switch (sig) {
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGILL: return "SIGILL";
    case SIGTRAP: return "SIGTRAP";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGKILL: return "SIGKILL";
    case SIGUSR1: return "SIGUSR1";
    case SIGSEGV: return "SIGSEGV";
    case SIGUSR2: return "SIGUSR2";
    case SIGPIPE: return "SIGPIPE";
    case SIGALRM: return "SIGALRM";
    case SIGTERM: return "SIGTERM";
    case SIGXCPU: return "SIGXCPU";
    case SIGXFSZ: return "SIGXFSZ";
    default: return nullptr;
  }
}

// Closes a descriptor on scope exit unless released.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  [[nodiscard]] int get() const noexcept { return fd_; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

struct PipePair {
  Fd read;
  Fd write;
};

bool make_pipe(PipePair& p) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return false;
  p.read.reset(fds[0]);
  p.write.reset(fds[1]);
  return true;
}

std::string env_value(const std::vector<std::string>& env, std::string_view name) {
  for (const auto& entry : env) {
    if (entry.size() > name.size() && entry.compare(0, name.size(), name) == 0 &&
        entry[name.size()] == '=') {
      return entry.substr(name.size() + 1);
    }
  }
  return {};
}

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// execvp() would search the parent's PATH and is not async-signal-safe, so the lookup happens
// here, before fork, in the PATH the child will see. Relative PATH entries are relative to the
// child's working directory, as they would be after its chdir().
std::optional<std::string> resolve_program(const std::string& name,
                                           const std::vector<std::string>& env,
                                           const std::string& work_dir, std::string& searched) {
  if (name.find('/') != std::string::npos) return name;
  std::string path = env_value(env, "PATH");
  searched = path.empty() ? std::string(kDefaultPath) : std::move(path);
  size_t begin = 0;
  while (begin <= searched.size()) {
    size_t end = searched.find(':', begin);
    if (end == std::string::npos) end = searched.size();
    // An empty entry means the current directory.
    const std::string dir = end > begin ? searched.substr(begin, end - begin) : std::string(".");
    std::string candidate = dir + "/" + name;
    std::string check = candidate;
    if (candidate.front() != '/' && !work_dir.empty()) check = work_dir + "/" + candidate;
    if (is_executable_file(check)) return candidate;
    begin = end + 1;
  }
  return std::nullopt;
}

// What the child writes to the status pipe when it fails before exec succeeds.
struct ChildFailure {
  int stage;  // 0: chdir, 1: exec, 2: stdio setup
  int error;
};

[[noreturn]] void child_fail(int fd, int stage) noexcept {
  const ChildFailure failure{stage, errno};
  // Nothing useful is left to do if this write fails; the parent then sees exit status 127.
  [[maybe_unused]] ssize_t n = ::write(fd, &failure, sizeof failure);
  ::_exit(127);
}

// Runs in the child between fork and exec: async-signal-safe calls only.
[[noreturn]] void exec_child(int devnull, int out, int err, int control, int status,
                             const char* dir, const char* program, char* const* argv,
                             char* const* envp) noexcept {
  ::setpgid(0, 0);
  if (::dup2(devnull, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) child_fail(status, 2);
  if (control >= 0) {
    // The status pipe must survive the dup2 onto kControlFd.
    if (status == kControlFd) status = ::fcntl(status, F_DUPFD_CLOEXEC, kControlFd + 1);
    if (control != kControlFd && ::dup2(control, kControlFd) < 0) child_fail(status, 2);
    if (::fcntl(kControlFd, F_SETFD, 0) < 0) child_fail(status, 2);
  }
  // Ignored signals and the blocked mask survive exec; the trial must start with defaults.
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (dir != nullptr && ::chdir(dir) != 0) child_fail(status, 0);
  // Descriptors the worker opened without O_CLOEXEC (sockets of other libraries) stay private.
  ::close_range(control >= 0 ? kControlFd + 1 : 3, ~0U, CLOSE_RANGE_CLOEXEC);
  ::execve(program, argv, envp);
  child_fail(status, 1);
}

// The keeper: joins the child's process group, waits for end-of-file on the lifeline (all write
// ends closed: this process has died), then kills the group, itself included. Runs between fork
// and _exit in a copy of a possibly multi-threaded process: async-signal-safe calls only.
[[noreturn]] void keep(int lifeline, pid_t group) noexcept {
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2}) {
    ::sigaction(sig, &ign, nullptr);
  }
  ::setpgid(0, group);
  // Nothing else stays open: another trial's pipes held here would never see end-of-file.
  if (lifeline > 0) ::close_range(0, static_cast<unsigned>(lifeline) - 1, 0);
  ::close_range(static_cast<unsigned>(lifeline) + 1, ~0U, 0);
  char c;
  ssize_t n;
  do {
    n = ::read(lifeline, &c, 1);
  } while (n < 0 && errno == EINTR);
  ::kill(-group, SIGKILL);
  ::_exit(0);
}

}  // namespace

std::string ExitStatus::describe() const {
  if (code) return "exit status " + std::to_string(*code);
  if (signal) {
    std::string text = "killed by signal " + std::to_string(*signal);
    if (const char* name = signal_name(*signal)) text += std::string(" (") + name + ")";
    return text;
  }
  return "unknown exit status (the child was reaped elsewhere)";
}

std::vector<std::string> current_environment() {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.emplace_back(*e);
  return env;
}

Subprocess::Started Subprocess::start(const SubprocessOptions& options) {
  if (options.argv.empty()) return {std::nullopt, "empty command line"};
  std::string searched;
  const auto program = resolve_program(options.argv[0], options.env, options.work_dir, searched);
  if (!program) {
    return {std::nullopt, "command '" + options.argv[0] + "' not found in PATH (" + searched + ")"};
  }

  // Everything the child needs is prepared before fork: it must not allocate.
  std::vector<char*> argv;
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : options.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const char* dir = options.work_dir.empty() ? nullptr : options.work_dir.c_str();

  Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (devnull.get() < 0) return {std::nullopt, "cannot open /dev/null: " + errno_text(errno)};
  PipePair out, err, status, lifeline;
  if (!make_pipe(out) || !make_pipe(err) || !make_pipe(status) || !make_pipe(lifeline)) {
    return {std::nullopt, "cannot create pipes: " + errno_text(errno)};
  }
  Fd control_parent, control_child;
  if (options.control) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
      return {std::nullopt, "cannot create the control socket: " + errno_text(errno)};
    }
    control_parent.reset(sv[0]);
    control_child.reset(sv[1]);
  }

  const pid_t pid = ::fork();
  if (pid < 0) return {std::nullopt, "fork failed: " + errno_text(errno)};
  if (pid == 0) {
    exec_child(devnull.get(), out.write.get(), err.write.get(), control_child.get(),
               status.write.get(), dir, program->c_str(), argv.data(), envp.data());
  }
  // Also set from this side so that a signal to the group cannot race the child's own setpgid.
  ::setpgid(pid, pid);
  out.write.reset();
  err.write.reset();
  status.write.reset();
  devnull.reset();
  control_child.reset();
  // The keeper guards the group from here on (the window before is this fork's duration).
  const pid_t keeper = ::fork();
  if (keeper == 0) keep(lifeline.read.get(), pid);
  if (keeper < 0) {
    const int e = errno;
    ::kill(-pid, SIGKILL);
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return {std::nullopt, "fork failed (keeper): " + errno_text(e)};
  }
  ::setpgid(keeper, pid);
  lifeline.read.reset();
  const auto reap_keeper = [keeper] {
    ::kill(keeper, SIGKILL);
    int st = 0;
    while (::waitpid(keeper, &st, 0) < 0 && errno == EINTR) {
    }
  };

  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(status.read.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof failure)) {
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    reap_keeper();
    switch (failure.stage) {
      case 0:
        return {std::nullopt, "cannot change to working directory '" + options.work_dir +
                                  "': " + errno_text(failure.error)};
      case 1:
        return {std::nullopt, "cannot execute '" + *program + "': " + errno_text(failure.error)};
      default:
        return {std::nullopt, "cannot set up the child's stdio: " + errno_text(failure.error)};
    }
  }

  ::fcntl(out.read.get(), F_SETFL, ::fcntl(out.read.get(), F_GETFL) | O_NONBLOCK);
  ::fcntl(err.read.get(), F_SETFL, ::fcntl(err.read.get(), F_GETFL) | O_NONBLOCK);
  if (control_parent.get() >= 0) {
    ::fcntl(control_parent.get(), F_SETFL, ::fcntl(control_parent.get(), F_GETFL) | O_NONBLOCK);
  }
  return {Subprocess(pid, out.read.release(), err.read.release(), control_parent.release(), keeper,
                     lifeline.write.release()),
          {}};
}

Subprocess::Subprocess(pid_t pid, int out_fd, int err_fd, int control_fd, pid_t keeper,
                       int lifeline) noexcept
    : pid_(pid), control_fd_(control_fd), keeper_(keeper), lifeline_(lifeline) {
  out_.fd = out_fd;
  err_.fd = err_fd;
#ifdef SYS_pidfd_open
  // The child cannot have been reaped yet (only this object reaps it), so the pid is still ours.
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd_ >= 0) ::fcntl(pidfd_, F_SETFD, FD_CLOEXEC);
#endif
}

Subprocess::Subprocess(Subprocess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::exchange(other.pidfd_, -1)),
      control_fd_(std::exchange(other.control_fd_, -1)),
      keeper_(std::exchange(other.keeper_, -1)),
      lifeline_(std::exchange(other.lifeline_, -1)),
      out_(std::exchange(other.out_, {})),
      err_(std::exchange(other.err_, {})),
      pending_(std::move(other.pending_)),
      status_(std::move(other.status_)) {}

Subprocess& Subprocess::operator=(Subprocess&& other) noexcept {
  if (this != &other) {
    release();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::exchange(other.pidfd_, -1);
    out_ = std::exchange(other.out_, {});
    err_ = std::exchange(other.err_, {});
    control_fd_ = std::exchange(other.control_fd_, -1);
    keeper_ = std::exchange(other.keeper_, -1);
    lifeline_ = std::exchange(other.lifeline_, -1);
    pending_ = std::move(other.pending_);
    status_ = std::move(other.status_);
  }
  return *this;
}

Subprocess::~Subprocess() { release(); }

void Subprocess::release() noexcept {
  if (pid_ > 0 && !status_) {
    ::kill(-pid_, SIGKILL);
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
  }
  reap_keeper();
  for (Pipe* p : {&out_, &err_}) {
    if (p->fd >= 0) ::close(p->fd);
    p->fd = -1;
  }
  for (int* fd : {&pidfd_, &control_fd_, &lifeline_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
  pid_ = -1;
}

void Subprocess::reap_keeper() noexcept {
  if (keeper_ <= 0) return;
  // Normally already killed with the group; also a no-op for a keeper that has exited.
  ::kill(keeper_, SIGKILL);
  int st = 0;
  while (::waitpid(keeper_, &st, 0) < 0 && errno == EINTR) {
  }
  keeper_ = -1;
}

bool Subprocess::send_control(std::string_view line) {
  if (control_fd_ < 0) return false;
  std::string text;
  text.reserve(line.size() + 1);
  text.append(line.data(), line.size());
  text.push_back('\n');
  const ssize_t n = ::send(control_fd_, text.data(), text.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  return n == static_cast<ssize_t>(text.size());
}

bool Subprocess::output_open() const noexcept { return out_.fd >= 0 || err_.fd >= 0; }

void Subprocess::drain(Pipe& pipe, Stream stream, std::vector<OutputLine>& out) {
  if (pipe.fd < 0) return;
  char buf[65536];
  // Bounded so that a child writing without pause cannot keep the caller here forever.
  for (size_t total = 0; total < kMaxLineBytes;) {
    const ssize_t n = ::read(pipe.fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    }
    if (n <= 0) {  // end of file, or an error that ends the stream just the same
      if (!pipe.partial.empty()) out.push_back({stream, std::move(pipe.partial)});
      pipe.partial.clear();
      ::close(pipe.fd);
      pipe.fd = -1;
      return;
    }
    total += static_cast<size_t>(n);
    size_t begin = 0;
    for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
      if (buf[i] != '\n') continue;
      pipe.partial.append(buf + begin, i - begin);
      if (!pipe.partial.empty() && pipe.partial.back() == '\r') pipe.partial.pop_back();
      out.push_back({stream, std::move(pipe.partial)});
      pipe.partial.clear();
      begin = i + 1;
    }
    pipe.partial.append(buf + begin, static_cast<size_t>(n) - begin);
    while (pipe.partial.size() >= kMaxLineBytes) {
      out.push_back({stream, pipe.partial.substr(0, kMaxLineBytes)});
      pipe.partial.erase(0, kMaxLineBytes);
    }
  }
}

std::vector<OutputLine> Subprocess::read_lines(std::chrono::milliseconds timeout) {
  std::vector<OutputLine> lines = std::exchange(pending_, {});
  collect(lines.empty() ? timeout : std::chrono::milliseconds(0), lines);
  return lines;
}

void Subprocess::collect(std::chrono::milliseconds timeout, std::vector<OutputLine>& out) {
  pollfd fds[3];
  Pipe* pipes[2];
  Stream streams[2];
  nfds_t n = 0;
  if (out_.fd >= 0) {
    fds[n] = {out_.fd, POLLIN, 0};
    pipes[n] = &out_;
    streams[n++] = Stream::kStdout;
  }
  if (err_.fd >= 0) {
    fds[n] = {err_.fd, POLLIN, 0};
    pipes[n] = &err_;
    streams[n++] = Stream::kStderr;
  }
  if (n == 0) return;
  // The leader's exit ends the wait too (its output may outlive it in a background child).
  nfds_t all = n;
  if (pidfd_ >= 0 && !status_) fds[all++] = {pidfd_, POLLIN, 0};
  const int ready = ::poll(fds, all, static_cast<int>(timeout.count()));
  if (ready <= 0) return;  // timeout, or EINTR: the caller polls again
  for (nfds_t i = 0; i < n; ++i) {
    if (fds[i].revents != 0) drain(*pipes[i], streams[i], out);
  }
}

bool Subprocess::leader_exited() const noexcept {
  siginfo_t info{};
  const int rc = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
  // ECHILD: someone else reaped it (or SIGCHLD is ignored); it is gone either way.
  if (rc != 0) return errno == ECHILD;
  return info.si_pid != 0;
}

ExitStatus Subprocess::reap() {
  // The leader is a zombie now, so its pid (the group id) cannot be reused yet: signalling the
  // group is safe until the waitpid below.
  ::kill(-pid_, SIGKILL);
  int st = 0;
  pid_t rc;
  do {
    rc = ::waitpid(pid_, &st, 0);
  } while (rc < 0 && errno == EINTR);
  ExitStatus status;
  if (rc == pid_) {
    if (WIFEXITED(st)) status.code = WEXITSTATUS(st);
    if (WIFSIGNALED(st)) status.signal = WTERMSIG(st);
  }
  status_ = status;
  reap_keeper();
  return status;
}

bool Subprocess::wait_exit(std::chrono::milliseconds timeout) {
  if (status_ || leader_exited()) return true;
  if (pidfd_ >= 0) {
    pollfd fd{pidfd_, POLLIN, 0};
    (void)::poll(&fd, 1, static_cast<int>(std::max<int64_t>(0, timeout.count())));
    return leader_exited();
  }
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    ::poll(nullptr, 0, 1);
    if (leader_exited()) return true;
  }
  return false;
}

std::optional<ExitStatus> Subprocess::poll_exit() {
  if (status_) return status_;
  if (!leader_exited()) return std::nullopt;
  return reap();
}

ExitStatus Subprocess::wait() {
  if (status_) return *status_;
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT) != 0 &&
         errno == EINTR) {
  }
  return reap();
}

ExitStatus Subprocess::terminate(std::chrono::milliseconds grace) {
  if (status_) return *status_;
  ::kill(-pid_, SIGTERM);
  const auto deadline = Clock::now() + grace;
  // Keep reading while waiting: a child blocked on a full pipe could not act on SIGTERM.
  while (!leader_exited()) {
    // Rounded up: SIGKILL never comes before the grace period is over.
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    const auto slice = std::min(left, std::chrono::milliseconds(10));
    if (output_open()) {
      collect(slice, pending_);
    } else {
      (void)wait_exit(slice);
    }
  }
  return reap();
}

}  // namespace hypertune::worker
