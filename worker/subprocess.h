#pragma once
// A child process with its output on pipes: what a command trial runs in.
//
// Subprocess::start() forks and execs argv directly (no shell): argv[0] is looked up in the PATH
// of the child's environment unless it contains a '/'. The child runs in work_dir with stdin on
// /dev/null, stdout and stderr on pipes, default signal dispositions and an empty signal mask, and
// leads a process group of its own, so that terminate() and kill reach everything it started
// (grandchildren included, unless they leave the group with setsid()).
//
// Contract:
//  * start() never throws for a child that cannot be started: the returned Started carries the
//    cause (command not found, not executable, no such work_dir, fork failure).
//  * read_lines() hands over stdout and stderr split into lines (a trailing '\r' removed; a line
//    longer than kMaxLineBytes comes out in pieces of that size; an unterminated last line comes
//    out when its pipe closes). Order is kept within a stream, not across the two streams.
//  * When the group leader exits, whatever it left running in its group is killed (SIGKILL)
//    before the leader is reaped: the pid of a reaped leader may be reused, so the group is
//    never signalled after reaping.
//  * The destructor kills the group (SIGKILL) and reaps the leader if it is still running;
//    a Subprocess never leaves a zombie behind.
//  * The group dies with this process, even when this process is SIGKILLed: a keeper process in
//    the child's group (ignoring SIGTERM, SIGINT, SIGHUP) holds the read end of a pipe that only
//    this process can write; when this process dies the pipe reads end-of-file and the keeper
//    sends SIGKILL to the whole group. The keeper dies with the group when it is killed here.
//  * With `control` set, the child gets one end of a socket pair as descriptor kControlFd, and
//    send_control() writes lines to it (never blocking; what does not fit is dropped).
// Not here: parsing what the child prints, timeouts (the caller polls), resource limits.
// Thread-safety: none; one thread owns a Subprocess. start() is safe to call from several
// threads at once (the child does only async-signal-safe work between fork and exec).

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hypertune::worker {

struct ExitStatus {
  std::optional<int> code;    // exit status when the child exited
  std::optional<int> signal;  // the signal that killed it otherwise

  [[nodiscard]] bool success() const noexcept { return code && *code == 0; }
  // "exit status 3" or "killed by signal 9 (SIGKILL)".
  [[nodiscard]] std::string describe() const;
};

struct SubprocessOptions {
  std::vector<std::string> argv;  // argv[0] is the program; must not be empty
  std::vector<std::string> env;   // the child's whole environment, "NAME=value" each
  std::string work_dir;           // empty: the parent's working directory
  bool control = false;           // give the child a socket on descriptor kControlFd
};

inline constexpr int kControlFd = 3;

enum class Stream { kStdout, kStderr };

struct OutputLine {
  Stream stream = Stream::kStdout;
  std::string text;  // without the line terminator
};

class Subprocess {
 public:
  static constexpr size_t kMaxLineBytes = 1 << 20;

  struct Started;
  [[nodiscard]] static Started start(const SubprocessOptions& options);

  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&& other) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess();

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

  // Waits up to `timeout` for output and returns the complete lines read (possibly none).
  // Returns at once when both pipes are closed.
  [[nodiscard]] std::vector<OutputLine> read_lines(std::chrono::milliseconds timeout);
  // True while stdout or stderr may still deliver data.
  [[nodiscard]] bool output_open() const noexcept;

  // The exit status once the leader has exited (then the rest of its group is killed and the
  // leader reaped); nullopt while it runs. Does not block.
  [[nodiscard]] std::optional<ExitStatus> poll_exit();
  // Waits up to `timeout` for the leader to exit, without reaping it (poll_exit() does that).
  // Returns as soon as it exits: through a pidfd where the kernel has them (Linux 5.3), else by
  // checking every millisecond. True when it has exited.
  bool wait_exit(std::chrono::milliseconds timeout);
  // Blocks until the leader exits; then as poll_exit().
  ExitStatus wait();
  // SIGTERM to the group, up to `grace` for the leader to exit, then SIGKILL to whatever is left
  // of the group; reaps. Output that arrives meanwhile stays readable through read_lines().
  // A no-op returning the known status when the leader was already reaped.
  ExitStatus terminate(std::chrono::milliseconds grace);
  // Writes `line` and a newline to the control socket without blocking. False when there is no
  // control socket, the child closed its end, or the socket buffer is full.
  bool send_control(std::string_view line);
  // The keeper's pid (tests check that it goes away with the group); -1 when none runs.
  [[nodiscard]] pid_t keeper_pid() const noexcept { return keeper_; }

 private:
  Subprocess(pid_t pid, int out_fd, int err_fd, int control_fd, pid_t keeper,
             int lifeline) noexcept;
  [[nodiscard]] bool leader_exited() const noexcept;
  ExitStatus reap();
  void reap_keeper() noexcept;
  void release() noexcept;

  struct Pipe {
    int fd = -1;
    std::string partial;  // bytes after the last newline
  };
  void drain(Pipe& pipe, Stream stream, std::vector<OutputLine>& out);
  void collect(std::chrono::milliseconds timeout, std::vector<OutputLine>& out);

  pid_t pid_ = -1;
  int pidfd_ = -1;  // readable once the leader exits; -1 where pidfd_open is not available
  int control_fd_ = -1;
  pid_t keeper_ = -1;  // in the child's group; reaped after the group is killed
  int lifeline_ = -1;  // the write end of the keeper's pipe, never written
  Pipe out_;
  Pipe err_;
  std::vector<OutputLine> pending_;   // read while terminate() waited
  std::optional<ExitStatus> status_;  // set once reaped
};

// The result of Subprocess::start(): the running child, or why there is none.
struct Subprocess::Started {
  std::optional<Subprocess> process;
  std::string error;  // set when process is empty
};

// The current process's environment as "NAME=value" strings.
[[nodiscard]] std::vector<std::string> current_environment();

}  // namespace hypertune::worker
