"""A command trial for the runner tests; what it does is chosen by its arguments.

Each step reports {metric: x + 1/step, "step": step, "pid": ..., "grandchild": ...}, where x is
the parameter "x" (0 without it). Standard library only.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, help="steps of a full run (default: $HYPERTUNE_MAX_STEPS)")
    p.add_argument("--sleep", type=float, default=0.0, help="seconds per step")
    p.add_argument("--no-final", action="store_true", help="print no final result line")
    p.add_argument("--ignore-term", action="store_true", help="ignore SIGTERM (and so does the grandchild)")
    p.add_argument("--grandchild", action="store_true", help="start /bin/sleep in the process group")
    p.add_argument("--checkpoint", action="store_true", help="save state.json before each report")
    p.add_argument("--wait-verdicts", action="store_true",
                   help="read the verdict of each report from $HYPERTUNE_VERDICT_FD before going on")
    p.add_argument("--chatter", action="store_true", help="print plain lines on stdout and stderr")
    p.add_argument("--stderr-lines", type=int, default=0, help="lines to print on stderr at the end")
    p.add_argument("--exit", type=int, default=0, help="exit status")
    p.add_argument("--echo", action="store_true", help="final result describes argv, env and cwd")
    args, rest = p.parse_known_args()

    metric = os.environ["HYPERTUNE_METRIC"]
    params = json.loads(os.environ["HYPERTUNE_PARAMS"])
    if args.echo:
        keys = ["HYPERTUNE_PARAMS", "HYPERTUNE_TRIAL", "HYPERTUNE_SEED", "HYPERTUNE_METRIC",
                "HYPERTUNE_MAX_STEPS", "HYPERTUNE_CHECKPOINT_DIR", "HYPERTUNE_RESUME_FROM",
                "HYPERTUNE_START_STEP", "EXTRA", "HOME_FROM_WORKER"]
        env = {k: os.environ[k] for k in keys if k in os.environ}
        print("@hypertune " + json.dumps({metric: 1.5, "argv": rest, "env": env, "cwd": os.getcwd(),
                                          "stdin": sys.stdin.read()}), flush=True)
        return 0

    if args.ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    grandchild = 0
    if args.grandchild:
        # Inherits the ignored SIGTERM, if any: only SIGKILL to the group ends it.
        grandchild = subprocess.Popen(["/bin/sleep", "60"]).pid

    steps = args.steps or int(os.environ.get("HYPERTUNE_MAX_STEPS", "5"))
    x = float(params.get("x", 0.0))
    first = 1
    resumed_from = None
    if "HYPERTUNE_RESUME_FROM" in os.environ:
        with open(os.path.join(os.environ["HYPERTUNE_RESUME_FROM"], "state.json")) as f:
            resumed_from = json.load(f)["step"]
        first = resumed_from + 1

    verdicts = None
    if args.wait_verdicts:
        verdicts = os.fdopen(int(os.environ["HYPERTUNE_VERDICT_FD"]), "r")
    value = None
    for step in range(first, steps + 1):
        time.sleep(args.sleep)
        value = x + 1.0 / step
        if args.chatter:
            print(f"plain output of step {step}", flush=True)
            print(f"progress of step {step}", file=sys.stderr, flush=True)
        if args.checkpoint:
            d = os.environ["HYPERTUNE_CHECKPOINT_DIR"]
            with open(os.path.join(d, "state.json.tmp"), "w") as f:
                json.dump({"step": step}, f)
            os.replace(os.path.join(d, "state.json.tmp"), os.path.join(d, "state.json"))
        report = {metric: value, "step": step, "pid": os.getpid(), "grandchild": grandchild}
        if resumed_from is not None:
            report["resumed_from"] = resumed_from
        print("@hypertune " + json.dumps(report), flush=True)
        if verdicts is not None and verdicts.readline().strip() != "continue":
            return 0  # paused or pruned: the state of this step is saved; stop here

    for i in range(1, args.stderr_lines + 1):
        print(f"err-{i:03d}", file=sys.stderr, flush=True)
    if not args.no_final and value is not None:
        print("@hypertune " + json.dumps({metric: value, "final": True}), flush=True)
    return args.exit


if __name__ == "__main__":
    sys.exit(main())
