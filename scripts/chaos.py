#!/usr/bin/env python3
"""Chaos run: a distributed sweep whose workers and scheduler are SIGKILLed while it runs.

    scripts/chaos.py [--trials 500] [--worker-kills 100] [--scheduler-kills 5] [--workers 4]
                     [--hypertune build/hypertune] [--keep DIR]

One `hypertune scheduler` and --workers `hypertune worker`s (2 slots each) run a sweep of
checkpointing command trials under ASHA in promotion mode (trials pause at rungs and resume from
their checkpoints). While it runs, a random worker is SIGKILLed (only the worker process: its
trial processes must die with it) and a new one started, --worker-kills times; the scheduler is
SIGKILLed --scheduler-kills times and restarted on the same study and port.

Every trial process logs its pid and start/end times, and holds an exclusive lock on its trial's
lock file while it runs: a second process of the same trial that finds the lock taken logs an
overlap. At the end the script prints, from the study and those logs:

  complete / pruned / paused / failed   final trial states in the study (paused: stopped at
                                        its ASHA rung and never promoted)
  running     trials still RUNNING or WAITING
  lost        trials the sweep created but the study does not hold (numbers 0..N-1 missing)
  duplicate   trials the study holds twice, or beyond the N it was asked for
  orphans     trial processes still alive after the scheduler and every worker exited
  overlaps    times two processes of one trial ran at once

and exits 1 unless lost, running, failed, duplicate, orphans and overlaps are all 0 (no trial of
this sweep fails on its own) and every trial finished. Only the Python standard library is needed. docs/benchmarks.md records a full run.
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

TRIAL_PROGRAM = r'''
import fcntl, json, os, signal, sys, time

log_dir = os.environ["CHAOS_LOG_DIR"]
trial = int(os.environ["HYPERTUNE_TRIAL"])
params = json.loads(os.environ["HYPERTUNE_PARAMS"])
steps = int(os.environ.get("HYPERTUNE_MAX_STEPS", "9"))
step_s = float(os.environ["CHAOS_STEP_S"])
pid = os.getpid()

def log(event, **extra):
    rec = dict(event=event, trial=trial, pid=pid, t=time.time(), **extra)
    with open(os.path.join(log_dir, "executions.jsonl"), "a") as f:
        f.write(json.dumps(rec) + "\n")

# Held for the whole run; the kernel drops it when this process dies, however it dies.
lock = open(os.path.join(log_dir, "trial-%d.lock" % trial), "w")
try:
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    log("overlap")
    fcntl.flock(lock, fcntl.LOCK_EX)  # go on once the other run is gone, as a real trial would

start = 0
resume = os.environ.get("HYPERTUNE_RESUME_FROM")
if resume and os.path.exists(os.path.join(resume, "state.json")):
    with open(os.path.join(resume, "state.json")) as f:
        start = json.load(f)["step"]
log("start", resumed_from=start)

def on_term(signum, frame):
    log("end", how="signal %d" % signum)
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)

ckpt = os.environ["HYPERTUNE_CHECKPOINT_DIR"]
verdicts = os.fdopen(int(os.environ["HYPERTUNE_VERDICT_FD"]), "r")
x, y = params["x"], params["y"]

def value_at(step):
    return (x - 0.3) ** 2 + (y + 0.2) ** 2 + 1.0 / step

# The checkpoint is saved before the report: when the worker died in between, it holds a step the
# scheduler never recorded. Report it again (docs/command-trials.md, rules for checkpoints).
if start > int(os.environ.get("HYPERTUNE_START_STEP", "0")):
    with open(os.path.join(ckpt, "state.json"), "w") as f:  # this run's folder, as for any report
        json.dump({"step": start}, f)
    print("@hypertune " + json.dumps({"value": value_at(start), "step": start}), flush=True)
    if verdicts.readline().strip() != "continue":
        log("end", how="stopped at the re-report", step=start)
        sys.exit(0)

for step in range(start + 1, steps + 1):
    time.sleep(step_s)
    value = value_at(step)
    tmp = os.path.join(ckpt, "state.json.tmp")
    with open(tmp, "w") as f:
        json.dump({"step": step}, f)
    os.replace(tmp, os.path.join(ckpt, "state.json"))
    print("@hypertune " + json.dumps({"value": value, "step": step}), flush=True)
    verdict = verdicts.readline().strip()
    if verdict != "continue":
        log("end", how=verdict or "no verdict", step=step)
        sys.exit(0)
log("end", how="finished", step=steps)
'''

CONFIG = """
name: chaos
seed: 7
objective: {{metric: value, direction: minimize}}
max_trials: {trials}
max_retries: 1000
space:
  x: {{type: float, low: -1.0, high: 1.0}}
  y: {{type: float, low: -1.0, high: 1.0}}
sampler: {{type: tpe, n_startup_trials: 20}}
pruner: {{type: asha, min_resource: 1, max_resource: 9, reduction_factor: 3, mode: promotion}}
trial:
  command: [{python}, {program}]
  env: {{CHAOS_LOG_DIR: "{dir}", CHAOS_STEP_S: "{step_s}"}}
  checkpoint: true
  grace_period: 2s
  steps: 9
"""


def alive(pid):
    """True for a live process; a zombie (killed, not yet reaped) counts as gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def trial_processes(program):
    """Pids of live processes running the trial program (this run's copy of it)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if program.encode() in argv and alive(int(entry)):
            pids.append(int(entry))
    return pids


class Chaos:
    def __init__(self, args):
        self.args = args
        self.dir = args.keep or tempfile.mkdtemp(prefix="hypertune-chaos-")
        os.makedirs(self.dir, exist_ok=True)
        self.program = os.path.join(self.dir, "chaos_trial.py")
        with open(self.program, "w") as f:
            f.write(TRIAL_PROGRAM)
        self.config = os.path.join(self.dir, "chaos.yaml")
        with open(self.config, "w") as f:
            f.write(CONFIG.format(trials=args.trials, python=json.dumps(sys.executable),
                                  program=json.dumps(self.program), dir=self.dir,
                                  step_s=args.step_seconds))
        self.db = os.path.join(self.dir, "chaos.db")
        self.endpoint = None
        self.scheduler = None
        self.workers = []
        self.rng = random.Random(args.seed)
        self.log = open(os.path.join(self.dir, "processes.log"), "ab")

    def start_scheduler(self):
        bind = self.endpoint or "tcp://127.0.0.1:*"
        ep_file = os.path.join(self.dir, "endpoint")
        if os.path.exists(ep_file):
            os.unlink(ep_file)
        self.scheduler = subprocess.Popen(
            [self.args.hypertune, "scheduler", self.config, "--storage", self.db, "--bind", bind,
             "--endpoint-file", ep_file, "--heartbeat-ms", "200", "--lease-ms", "2000", "-q"],
            stdout=self.log, stderr=self.log, start_new_session=True)
        deadline = time.time() + 30
        while not os.path.exists(ep_file):
            if self.scheduler.poll() is not None or time.time() > deadline:
                raise SystemExit("the scheduler did not start (see %s/processes.log)" % self.dir)
            time.sleep(0.02)
        time.sleep(0.05)  # the file is written whole, but give the writer its close
        with open(ep_file) as f:
            self.endpoint = f.read().strip()

    def start_worker(self):
        w = subprocess.Popen(
            [self.args.hypertune, "worker", "--connect", self.endpoint, "--slots", "2",
             "--heartbeat-ms", "200", "--lease-ms", "2000", "--reconnect-min-ms", "50",
             "--reconnect-max-ms", "500", "--give-up-after", "60", "--checkpoint-dir",
             os.path.join(self.dir, "checkpoints"), "-q"],
            stdout=self.log, stderr=self.log, start_new_session=True)
        self.workers.append(w)

    def run(self):
        a = self.args
        self.start_scheduler()
        for _ in range(a.workers):
            self.start_worker()
        t0 = time.time()
        worker_kills = scheduler_kills = 0
        # Scheduler kills spread over the expected run; worker kills every kill_interval seconds.
        next_worker_kill = t0 + a.kill_interval
        next_scheduler_kill = t0 + a.scheduler_interval
        while True:
            if self.scheduler.poll() is not None:
                if self.scheduler.returncode == 0:
                    break
                if self.scheduler.returncode != -signal.SIGKILL:
                    raise SystemExit("the scheduler failed with %d (see %s/processes.log)"
                                     % (self.scheduler.returncode, self.dir))
            now = time.time()
            if now - t0 > a.limit:
                raise SystemExit("the sweep did not finish in %d s" % a.limit)
            if worker_kills < a.worker_kills and now >= next_worker_kill:
                live = [w for w in self.workers if w.poll() is None]
                if live:
                    victim = self.rng.choice(live)
                    os.kill(victim.pid, signal.SIGKILL)  # the worker only, not its trials
                    victim.wait()
                    self.workers.remove(victim)
                    worker_kills += 1
                    self.start_worker()
                next_worker_kill = now + a.kill_interval
            if scheduler_kills < a.scheduler_kills and now >= next_scheduler_kill:
                os.kill(self.scheduler.pid, signal.SIGKILL)
                self.scheduler.wait()
                scheduler_kills += 1
                time.sleep(self.rng.uniform(0.0, 1.0))
                self.start_scheduler()
                next_scheduler_kill = now + a.scheduler_interval
            # Replace workers that gave up or exited (never the case in a healthy run).
            for w in list(self.workers):
                if w.poll() is not None:
                    self.workers.remove(w)
                    if self.scheduler.poll() is None:
                        self.start_worker()
            time.sleep(0.02)
        elapsed = time.time() - t0
        # The sweep is over: connected workers are told so and exit. One that was still saying
        # HELLO when the scheduler left waits for a scheduler (--give-up-after): stop it.
        for w in self.workers:
            try:
                w.wait(timeout=5)
            except subprocess.TimeoutExpired:
                w.terminate()
                w.wait()
        time.sleep(1.0)  # the keepers of killed workers act at once; give the last ones a moment
        return elapsed, worker_kills, scheduler_kills

    def count(self, elapsed, worker_kills, scheduler_kills):
        a = self.args
        out = subprocess.run([self.args.hypertune, "export", self.db, "--format", "json"],
                             capture_output=True, text=True, check=True)
        study = json.loads(out.stdout)
        trials = study["trials"] if isinstance(study, dict) else study
        states = {}
        numbers = set()
        for t in trials:
            states[t["state"]] = states.get(t["state"], 0) + 1
            numbers.add(t["number"])
        # PAUSED at the end: stopped at its rung and never promoted (ASHA's way of pruning).
        finished = sum(states.get(s, 0) for s in ("COMPLETE", "PRUNED", "PAUSED", "FAIL"))
        events = []
        with open(os.path.join(self.dir, "executions.jsonl")) as f:
            for line in f:
                events.append(json.loads(line))
        runs = sum(1 for e in events if e["event"] == "start")
        report = {
            "trials": a.trials,
            "complete": states.get("COMPLETE", 0),
            "pruned": states.get("PRUNED", 0),
            "paused": states.get("PAUSED", 0),
            "failed": states.get("FAIL", 0),
            "running": len(trials) - finished,
            "lost": a.trials - len(numbers & set(range(a.trials))),
            "duplicate": len(trials) - len(numbers) + len(numbers - set(range(a.trials))),
            "orphans": len(trial_processes(self.program)),
            "overlaps": sum(1 for e in events if e["event"] == "overlap"),
            "trial_runs": runs,
            "worker_kills": worker_kills,
            "scheduler_kills": scheduler_kills,
            "seconds": round(elapsed, 1),
        }
        print(json.dumps(report))
        # No trial of this sweep fails on its own: a FAIL is a run the chaos broke.
        for k in ("lost", "running", "failed", "duplicate", "orphans", "overlaps"):
            if report[k]:
                print("FAIL: %s = %d (logs in %s)" % (k, report[k], self.dir), file=sys.stderr)
                return 1
        if worker_kills < a.worker_kills or scheduler_kills < a.scheduler_kills:
            print("FAIL: the sweep ended after %d of %d worker kills and %d of %d scheduler kills "
                  "(raise --step-seconds)" % (worker_kills, a.worker_kills, scheduler_kills,
                                              a.scheduler_kills), file=sys.stderr)
            return 1
        if finished != a.trials:
            print("FAIL: %d of %d trials finished" % (finished, a.trials), file=sys.stderr)
            return 1
        return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--trials", type=int, default=500)
    p.add_argument("--worker-kills", type=int, default=100)
    p.add_argument("--scheduler-kills", type=int, default=5)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--kill-interval", type=float, default=0.5, help="seconds between worker kills")
    p.add_argument("--scheduler-interval", type=float, default=9.0,
                   help="seconds between scheduler kills")
    p.add_argument("--step-seconds", type=float, default=0.2, help="time one trial step takes")
    p.add_argument("--limit", type=float, default=1800, help="give up after this many seconds")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--hypertune", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                       "..", "build", "hypertune"))
    p.add_argument("--keep", help="work in this directory and keep it (default: a temporary one)")
    args = p.parse_args()
    chaos = Chaos(args)
    try:
        result = chaos.run()
        rc = chaos.count(*result)
    finally:
        for proc in [chaos.scheduler] + chaos.workers:
            if proc and proc.poll() is None:
                proc.kill()
                proc.wait()
    if rc == 0 and not args.keep:
        subprocess.run(["rm", "-rf", chaos.dir])
    sys.exit(rc)


if __name__ == "__main__":
    main()
