#!/usr/bin/env bash
# A scheduler at 100,000 stored trials: resident memory, time to reopen the storage, and the
# latency of Study::ask (TPE with the config defaults, and random) and of a whole committed
# ask -> reports -> finish cycle, measured in fresh processes the way a restarted scheduler sees
# its storage. The study is filled once (ASHA in stopping mode, up to 27 steps, so most trials
# are pruned after a few reports, as in a real sweep).
#
#   scripts/bench/large_study.sh OUT_DIR [--quick] [--runs N] [--build-dir DIR]
#
# --quick: 20,000 trials instead of 100,000. Writes OUT_DIR/large_study.jsonl (one line per
# measuring process) and OUT_DIR/large_study.md (the fragment for docs/benchmarks.md).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=""
trials=100000
runs=3
asks=200
build=${HYPERTUNE_BUILD_DIR:-$root/build}

usage() {
  echo "usage: scripts/bench/large_study.sh OUT_DIR [--quick] [--runs N] [--build-dir DIR]" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) trials=20000; asks=100 ;;
    --runs) [[ $# -ge 2 ]] || usage; runs=$2; shift ;;
    --build-dir) [[ $# -ge 2 ]] || usage; build=$2; shift ;;
    -*) echo "large_study.sh: unknown option '$1'" >&2; usage ;;
    *) [[ -z $out ]] || usage; out=$1 ;;
  esac
  shift
done
[[ -n $out ]] || usage
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "large_study.sh: --runs needs a positive integer" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)

if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" --target hypertune_large_study_bench -j"$(nproc)" >/dev/null
bench=$build/bench/hypertune_large_study_bench

work=$(mktemp -d "${TMPDIR:-/tmp}/hypertune-large-study.XXXXXX")
trap 'rm -rf "$work"' EXIT
db=$work/study.db

echo "large_study: filling a study with $trials trials" >&2
"$bench" fill --storage "$db" --trials "$trials" > "$work/fill.json"
# Each measuring process adds its asks to the study; measure on copies of the filled file so
# every run sees exactly $trials stored trials.
: > "$out/large_study.jsonl"
for sampler in tpe random; do
  for ((r = 1; r <= runs; r++)); do
    echo "large_study: $sampler run $r/$runs" >&2
    cp "$db" "$work/run.db"
    "$bench" measure --storage "$work/run.db" --sampler "$sampler" --asks "$asks" \
      | /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); d["run"]=int(sys.argv[1]); d["load"]=open("/proc/loadavg").read().split()[0]; print(json.dumps(d))' "$r" \
      >> "$out/large_study.jsonl"
    rm -f "$work"/run.db*
  done
done

/usr/bin/python3 - "$out" "$work/fill.json" "$trials" "$runs" "$asks" <<'EOF'
import json, statistics, sys
out, fill_path, trials, runs, asks = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
fill = json.load(open(fill_path))
rows = [json.loads(l) for l in open(f"{out}/large_study.jsonl")]
quick = trials < 100000
def med(xs): return statistics.median(xs)
def span(xs): return f"{min(xs):.3g}-{max(xs):.3g}"
lines = []
lines.append("## Scheduler at %s stored trials: memory and ask latency" % f"{trials:,}")
lines.append("")
lines.append("Command: `scripts/bench/large_study.sh OUT_DIR%s` (target `hypertune_large_study_bench`). "
             % (" --quick" if quick else ""))
lines.append(f"A study of {fill['trials']:,} trials ({fill['complete']:,} complete, {fill['pruned']:,} pruned by ASHA "
             f"in stopping mode, up to 27 steps, 7-parameter mixed space) is written through `Study` into SQLite "
             f"(WAL) once. Then each run is a fresh process that does what a restarted `hypertune scheduler` does: "
             f"opens the storage and replays every trial into the sampler and the pruner, then runs {asks} more "
             f"trials one at a time, each committed on its own as the dispatcher does. Medians of {runs} runs, "
             f"range in brackets. Memory is the process's resident set (VmRSS after opening; VmHWM, the peak, "
             f"at the end): the study, sampler, pruner and SQLite page cache, without sockets.")
lines.append("")
lines.append("| sampler | reopen + replay s | RSS after open MiB | peak RSS MiB | ask median ms | ask p95 ms | ask+commit cycle median ms |")
lines.append("| --- | --- | --- | --- | --- | --- | --- |")
for s in ("tpe", "random"):
    rs = [r for r in rows if r["sampler"] == s]
    if not rs: continue
    f = lambda key: [r[key] for r in rs]
    am = [r["ask_ms"]["median"] for r in rs]; ap = [r["ask_ms"]["p95"] for r in rs]
    cm = [r["cycle_ms"]["median"] for r in rs]
    lines.append(f"| {s} | {med(f('open_seconds')):.2f} [{span(f('open_seconds'))}] | {med(f('rss_after_open_mib')):.0f} | "
                 f"{med(f('peak_rss_mib')):.0f} | {med(am):.3g} [{span(am)}] | {med(ap):.3g} | {med(cm):.3g} |")
lines.append("")
lines.append(f"Storage file: {rows[0]['storage_mib']:.0f} MiB. Load average (1 min) at each run: "
             + ", ".join(str(r["load"]) for r in rows) + ".")
if quick:
    lines.append("")
    lines.append("Quick mode: 20,000 trials, not the 100,000 of the full run.")
open(f"{out}/large_study.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
EOF
