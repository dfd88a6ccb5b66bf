#!/usr/bin/env bash
# Chaos runs (scripts/chaos.py): distributed sweeps of checkpointing command trials under ASHA
# (promotion mode) whose workers and scheduler are SIGKILLed while they run. Full mode: 3 runs of
# 500 trials with 100 worker kills and 5 scheduler kills each, kill seeds 1-3 (about 5 minutes);
# --quick: 1 run of 100 trials with 20 worker kills and 1 scheduler kill.
# Writes OUT_DIR/chaos.jsonl (one line per run, as chaos.py prints it) and OUT_DIR/chaos.md.
#
#   scripts/bench/chaos.sh OUT_DIR [--quick] [--build-dir DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out="" quick=0
build=${HYPERTUNE_BUILD_DIR:-$root/build}
usage() { echo "usage: scripts/bench/chaos.sh OUT_DIR [--quick] [--build-dir DIR]" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) quick=1 ;;
    --build-dir) [[ $# -ge 2 ]] || usage; build=$2; shift ;;
    -*) echo "chaos.sh: unknown option '$1'" >&2; usage ;;
    *) [[ -z $out ]] || usage; out=$1 ;;
  esac
  shift
done
[[ -n $out ]] || usage
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/chaos.jsonl"
if [[ $quick == 1 ]]; then
  sizes=(--trials 100 --worker-kills 20 --scheduler-kills 1 --scheduler-interval 6) runs=1
else
  sizes=() runs=3
fi
rc=0
for seed in $(seq 1 "$runs"); do
  args=(--seed "$seed" --hypertune "$build/hypertune" "${sizes[@]}")
  echo "chaos.sh: scripts/chaos.py ${args[*]}" >&2
  # chaos.py prints its counts as one JSON line and exits 1 when a goal is missed: keep both.
  line=$(/usr/bin/python3 "$root/scripts/chaos.py" "${args[@]}" | tail -1) || rc=1
  /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["seed"]=int(sys.argv[2]); d["load"]=open("/proc/loadavg").read().split()[0]; print(json.dumps(d))' \
    "$line" "$seed" >> "$out/chaos.jsonl"
done

/usr/bin/python3 - "$out" "$quick" <<'PY'
import json, sys
out, quick = sys.argv[1], sys.argv[2] == "1"
rows = [json.loads(l) for l in open(f"{out}/chaos.jsonl")]
cmd = "scripts/bench/chaos.sh OUT_DIR" + (" --quick" if quick else "")
L = ["## Chaos: worker and scheduler SIGKILLs during a sweep", "",
     f"Command: `{cmd}` (each run: `scripts/chaos.py --seed N`, options in the table). "
     "One `hypertune scheduler` and 4 `hypertune worker`s with 2 slots each run a sweep of command trials "
     "(9 steps of 0.2 s, a checkpoint before each report, waiting for each verdict) under ASHA in promotion "
     "mode, so trials pause at rungs and resume from checkpoints. Every 0.5 s a random worker process is "
     "SIGKILLed (the worker only: its trial processes must die with it) and a new one started; every 9 s the "
     "scheduler is SIGKILLed and restarted on the same study and port. Each trial process logs its pid and "
     "start/end and holds an exclusive lock on its trial's lock file while it runs; a second process of a "
     "trial that finds the lock taken counts as an overlap. Orphans: trial processes alive after every "
     "worker and the scheduler exited. Paused: trials stopped at their rung and never promoted (ASHA's "
     "way of pruning); running: still RUNNING or WAITING at the end.", "",
     "| seed | trials | worker kills | scheduler kills | complete | paused | failed | running | lost | duplicate | orphans | overlaps | trial runs | seconds | load |",
     "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
for r in rows:
    L.append(f"| {r['seed']} | {r['trials']} | {r['worker_kills']} | {r['scheduler_kills']} | {r['complete']} | {r['paused']} | "
             f"{r['failed']} | {r['running']} | {r['lost']} | {r['duplicate']} | {r['orphans']} | {r['overlaps']} | "
             f"{r['trial_runs']} | {r['seconds']} | {r['load']} |")
L.append("")
bad = {k: sum(r[k] for r in rows) for k in ("lost", "running", "failed", "duplicate", "orphans", "overlaps")}
kills = sum(r["worker_kills"] for r in rows), sum(r["scheduler_kills"] for r in rows)
full = all(r["trials"] >= 500 and r["worker_kills"] >= 100 and r["scheduler_kills"] >= 5 for r in rows)
ok = all(v == 0 for v in bad.values())
L.append("Targets (computed from the numbers above):")
L.append("")
L.append(f"- every run: 0 lost, 0 running, 0 failed, 0 duplicate, 0 orphans, 0 overlaps: "
         f"{'**met**' if ok else '**MISSED**'} ({', '.join(f'{k} {v}' for k, v in bad.items())} over {len(rows)} runs)")
L.append(f"- at the size asked for (500 trials, 100 worker and 5 scheduler kills per run): "
         f"{'**met**' if full else '**MISSED**'} ({kills[0]} worker and {kills[1]} scheduler kills in all)")
open(f"{out}/chaos.md", "w").write("\n".join(L) + "\n")
print("\n".join(L))
PY
exit $rc
