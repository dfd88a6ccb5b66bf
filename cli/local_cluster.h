#pragma once
// LocalCluster: N `hypertune worker` processes on this machine, for `hypertune run --workers N`.
//
// The caller binds a Dispatcher (ipc:// or tcp://127.0.0.1:*) and passes its endpoint; each
// worker i runs `EXECUTABLE worker --connect EP --slots S --name local-i [extra args]` in a
// process group of its own (a Ctrl-C on the terminal reaches the parent only, which then stops
// the sweep in order), with stdout/stderr inherited or appended to LOG_DIR/worker-i.log.
// A worker dies with the parent (PR_SET_PDEATHSIG SIGTERM): a killed `run` leaves no orphans that
// would wait for a scheduler forever.
//
// Stopping (stop(), also by the destructor): the Dispatcher's DISCONNECT at the end of the sweep
// makes workers exit on their own; whoever is still there after `grace` gets SIGTERM (a worker
// stops its trials and tells the scheduler), and after another `grace` SIGKILL (to its whole
// group: command trials included). Every child is reaped; a reaped pid is never signalled again.
//
// Not here: restarting crashed workers (reap_exited() reports them; the caller decides), the
// scheduler side. Thread-safety: none; one thread owns a LocalCluster. Construct it from the
// thread that will outlive the workers (PR_SET_PDEATHSIG follows the forking thread).

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace hypertune::cli {

struct LocalClusterOptions {
  std::string executable = "/proc/self/exe";
  std::string endpoint;                 // where the workers connect
  int workers = 1;
  int slots_per_worker = 1;
  std::string name_prefix = "local-";   // worker i is named <prefix><i>
  std::optional<std::string> log_dir;   // nullopt: the workers share the parent's stdout/stderr
  std::vector<std::string> extra_args;  // appended to each worker's command line
  std::vector<std::vector<int>> worker_gpus;  // --gpus of worker i (cli/gpus.h); empty: none
};

struct WorkerExit {
  int index = 0;
  pid_t pid = -1;
  std::optional<int> code;    // exit status, when it exited
  std::optional<int> signal;  // the signal that killed it otherwise
  [[nodiscard]] std::string describe() const;  // "worker local-3 (pid 123) exited with status 0"
};

class LocalCluster {
 public:
  // Spawns the workers. Throws hypertune::Error (naming the executable and the cause) when one
  // cannot be started; those already started are stopped first.
  explicit LocalCluster(LocalClusterOptions options);
  ~LocalCluster();
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  // Lets workers exit by themselves for up to `grace`, then SIGTERM, `grace` again, then SIGKILL.
  // Returns how each worker ended (those already reaped by reap_exited() excluded). Idempotent.
  std::vector<WorkerExit> stop(std::chrono::milliseconds grace = std::chrono::seconds(3));

  // Reaps workers that have exited on their own since the last call, without blocking.
  std::vector<WorkerExit> reap_exited();

  [[nodiscard]] std::vector<pid_t> pids() const;  // workers not reaped yet
  [[nodiscard]] size_t running() const { return pids().size(); }

 private:
  struct Child {
    int index = 0;
    pid_t pid = -1;
    bool reaped = false;
  };
  void spawn(int index);
  WorkerExit exit_of(const Child& c, int status) const;

  LocalClusterOptions opt_;
  std::vector<Child> children_;
};

}  // namespace hypertune::cli
