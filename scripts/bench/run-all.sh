#!/usr/bin/env bash
# Runs every benchmark against its peer (Optuna 3.1, PyTorch 1.13, scikit-learn 1.2) one step
# after another and regenerates docs/benchmarks.md from the raw results.
#
#   scripts/bench/run-all.sh [--quick] [--out DIR] [--build-dir DIR] [--only STEP,... [--merge]]
#
#   --quick      short runs (the suite in under 10 minutes on 2 cores; full: under 45)
#   --out DIR    raw results (JSONL), one markdown fragment per step (DIR/STEP.md), logs
#                (DIR/logs/) and DIR/run.jsonl (times and load per step); default
#                BUILD_DIR/bench-results (emptied first)
#   --build-dir  build directory (default ${HYPERTUNE_BUILD_DIR:-build}); configured with LibTorch
#                through scripts/build.sh when it has no CMakeCache.txt yet, then the targets the
#                steps need are built
#   --only       run only these steps; the report then goes to DIR/report/benchmarks.md and
#                docs/ is left alone
#   --merge      with --only: replace these steps' sections, rows and raw results in
#                docs/benchmarks.md and docs/bench-results/; every other step keeps its section
#                and results from the run before
#
# Steps, in order: sampler quality run_wall pipeline early_stopping race dispatch overhead scaling
# workers64 large_study baseline chaos fuzz, and automl only with --only (about 55 minutes:
# scripts/bench/automl.sh). early_stopping, race, large_study, chaos, fuzz and automl run
# scripts/bench/STEP.sh OUT [--quick] [--build-dir DIR] when that script exists (a note in the
# report when it does not). A failing step is reported as failed and the others still run.
# Without --only, docs/benchmarks.md and docs/bench-results/ are replaced at the end.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bench=$root/scripts/bench
python=/usr/bin/python3
all_steps=(sampler quality run_wall pipeline early_stopping race dispatch overhead scaling workers64 large_study baseline chaos fuzz automl)
# Steps that run only when --only names them (their cost would break the suite's 45 minutes).
optin_steps=(automl)
quick=0
out=""
build=${HYPERTUNE_BUILD_DIR:-$root/build}
only=""
merge=0
invocation="scripts/bench/run-all.sh"
for arg in "$@"; do
  if [[ $arg =~ ^[A-Za-z0-9_./,=:+-]+$ ]]; then invocation+=" $arg"; else invocation+=" $(printf '%q' "$arg")"; fi
done

usage() {
  echo "usage: scripts/bench/run-all.sh [--quick] [--out DIR] [--build-dir DIR] [--only STEP,... [--merge]]" >&2
  echo "steps: ${all_steps[*]}" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) quick=1 ;;
    --out) [[ $# -ge 2 ]] || usage; out=$2; shift ;;
    --build-dir) [[ $# -ge 2 ]] || usage; build=$2; shift ;;
    --only) [[ $# -ge 2 ]] || usage; only=$2; shift ;;
    --merge) merge=1 ;;
    -h | --help) usage ;;
    *) echo "run-all.sh: unknown argument '$1'" >&2; usage ;;
  esac
  shift
done
mkdir -p "$build" || exit 1
build=$(cd "$build" && pwd)
out=${out:-$build/bench-results}
steps=()
if [[ -n $only ]]; then
  IFS=, read -ra wanted <<<"$only"
  for w in "${wanted[@]}"; do
    known=0
    for s in "${all_steps[@]}"; do [[ $s == "$w" ]] && known=1; done
    if [[ $known == 0 ]]; then
      echo "run-all.sh: --only: unknown step '$w' (steps: ${all_steps[*]})" >&2
      exit 2
    fi
  done
  for s in "${all_steps[@]}"; do
    for w in "${wanted[@]}"; do [[ $s == "$w" ]] && steps+=("$s"); done
  done
else
  for s in "${all_steps[@]}"; do
    [[ " ${optin_steps[*]} " == *" $s "* ]] || steps+=("$s")
  done
fi
for tool in cmake bc; do
  command -v $tool >/dev/null || { echo "run-all.sh: '$tool' is missing" >&2; exit 1; }
done
if ! $python -c 'import optuna, torch, sklearn' 2>/dev/null; then
  echo "run-all.sh: $python cannot import optuna, torch and sklearn (scripts/install-deps.sh)" >&2
  exit 1
fi

mode=full
q=()
if [[ $quick == 1 ]]; then mode=quick q=(--quick); fi
rm -rf "$out"
mkdir -p "$out/logs" || exit 1
out=$(cd "$out" && pwd)
: >"$out/run.jsonl"

# Paths as the reader would type them: relative to the repository root where possible.
show() {
  local p=$1
  [[ $p == "$root/"* ]] && p=${p#"$root/"}
  printf '%s' "$p"
}
B=$(show "$build")
O=$(show "$out")
load() { cut -d' ' -f1 /proc/loadavg; }
suite_start=$(date +%s)

# record STEP START LOAD_START STATUS: one line of OUT/run.jsonl
record() {
  local end
  end=$(date +%s.%N)
  printf '{"step": "%s", "start": %s, "end": %s, "load_start": %s, "load_end": %s, "status": "%s"}\n' \
    "$1" "$2" "$end" "$3" "$(load)" "$4" >>"$out/run.jsonl"
  printf 'run-all: %-14s %6.0f s  load %s -> %s  %s  (suite: %d s)\n' "$1" "$(echo "$end - $2" | bc)" \
    "$3" "$(load)" "$4" $(($(date +%s) - suite_start)) >&2
}

# note STEP TEXT: a fragment saying why a step has no result
note() {
  printf '## %s\n\n%s\n' "$1" "$2" >"$out/$1.md"
}

# ---------------------------------------------------------------------------------------------
# Build

echo "run-all: $mode mode, build dir $B, results in $O, steps: ${steps[*]}" >&2
start=$(date +%s.%N) l0=$(load)
# Only the targets the chosen steps need.
targets=()
need() { for t in "$@"; do [[ " ${targets[*]} " == *" $t "* ]] || targets+=("$t"); done; }
for step in "${steps[@]}"; do
  case $step in
    sampler | quality) need hypertune_sampler_bench ;;
    pipeline) need hypertune_pipeline_bench ;;
    dispatch | workers64) need hypertune_dispatch_bench ;;
    *) need hypertune ;;
  esac
done
{
  if [[ ! -f $build/CMakeCache.txt ]]; then
    HYPERTUNE_BUILD_DIR=$build HYPERTUNE_JOBS=${HYPERTUNE_JOBS:-$(nproc)} \
      "$root/scripts/build.sh" -DHYPERTUNE_WITH_TORCH=ON -DHYPERTUNE_BUILD_TESTS=OFF
  else
    cmake --build "$build" --target "${targets[@]}" -j"${HYPERTUNE_JOBS:-$(nproc)}"
  fi
} >"$out/logs/build.log" 2>&1
rc=$?
if [[ $rc != 0 ]]; then
  tail -30 "$out/logs/build.log" >&2
  echo "run-all: the build failed (log: $O/logs/build.log)" >&2
  exit 1
fi
printf '{"step": "build", "start": %s, "end": %s, "load_start": %s, "load_end": %s, "status": "ok"}\n' \
  "$start" "$(date +%s.%N)" "$l0" "$(load)" >"$out/build.json"
printf "run-all: build done in %.0f s\n" "$(echo "$(date +%s.%N) - $start" | bc)" >&2

# ---------------------------------------------------------------------------------------------
# Steps

# run_step STEP CMD...: runs one of this suite's scripts, then writes its fragment
run_step() {
  local step=$1
  shift
  local shown=""
  for a in "$@"; do shown+="$(show "$a") "; done
  shown=${shown% }
  echo "run-all: $step: $shown" >&2
  local t0 l0 rc
  t0=$(date +%s.%N) l0=$(load)
  mkdir -p "$out/$step"
  "$@" >"$out/logs/$step.log" 2>&1
  rc=$?
  if [[ $rc != 0 ]]; then
    note "$step" "Failed (exit $rc) running \`$shown\`; the log's end:
\`\`\`
$(tail -15 "$out/logs/$step.log")
\`\`\`"
    record "$step" "$t0" "$l0" "failed (exit $rc)"
    return
  fi
  if ! $python "$bench/make_report.py" fragment "$step" "$out" --command "$shown" \
    >>"$out/logs/$step.log" 2>&1; then
    note "$step" "The step ran (\`$shown\`) but its report could not be made; see $O/logs/$step.log."
    record "$step" "$t0" "$l0" "failed (report)"
    return
  fi
  record "$step" "$t0" "$l0" "ok"
}

# external_step STEP: scripts/bench/STEP.sh OUT [--quick] [--build-dir DIR] -> OUT/STEP.md
external_step() {
  local step=$1 script=$bench/$1.sh
  local t0 l0 rc
  t0=$(date +%s.%N) l0=$(load)
  if [[ ! -x $script ]]; then
    note "$step" "Not run: \`scripts/bench/$step.sh\` does not exist yet."
    record "$step" "$t0" "$l0" "skipped (no script)"
    return
  fi
  local shown="scripts/bench/$step.sh $O ${q[*]} --build-dir $B"
  shown=${shown//  / }
  echo "run-all: $step: $shown" >&2
  rm -f "$out/$step.md"
  "$script" "$out" "${q[@]}" --build-dir "$build" >"$out/logs/$step.log" 2>&1
  rc=$?
  if [[ $rc != 0 ]]; then
    note "$step" "Failed (exit $rc) running \`$shown\`; the log's end:
\`\`\`
$(tail -15 "$out/logs/$step.log")
\`\`\`"
    record "$step" "$t0" "$l0" "failed (exit $rc)"
  elif [[ ! -s $out/$step.md ]]; then
    note "$step" "\`$shown\` exited 0 but wrote no $O/$step.md."
    record "$step" "$t0" "$l0" "failed (no fragment)"
  else
    record "$step" "$t0" "$l0" "ok"
  fi
}

for step in "${steps[@]}"; do
  case $step in
    sampler) run_step sampler "$bench/sampler.sh" "$out/sampler" --part timing "${q[@]}" --build-dir "$build" ;;
    quality) run_step quality "$bench/sampler.sh" "$out/quality" --part quality "${q[@]}" --build-dir "$build" ;;
    run_wall)
      if [[ $quick == 1 ]]; then
        run_step run_wall $python "$bench/run_wall.py" --hypertune "$build/hypertune" --trials 300 --repeats 2 \
          --modes univariate --out "$out/run_wall"
      else
        run_step run_wall $python "$bench/run_wall.py" --hypertune "$build/hypertune" --trials 1000 --repeats 3 \
          --modes univariate --big 10000 --out "$out/run_wall"
      fi
      ;;
    pipeline) run_step pipeline "$bench/pipeline.sh" "$out/pipeline" "${q[@]}" --build-dir "$build" ;;
    dispatch) run_step dispatch "$bench/dispatch.sh" "$out/dispatch" "${q[@]}" --build-dir "$build" ;;
    overhead) run_step overhead "$bench/overhead.sh" "$out/overhead" "${q[@]}" --build-dir "$build" ;;
    scaling) run_step scaling "$bench/scaling.sh" "$out/scaling" "${q[@]}" --build-dir "$build" ;;
    workers64) run_step workers64 "$bench/dispatch.sh" "$out/workers64" --simulate "${q[@]}" --build-dir "$build" ;;
    # The suite keeps one split and the scikit-learn reference (minutes); the AutoML comparison
    # with XGBoost, Optuna and 5 splits per dataset (hours) is baseline.sh run on its own
    # (docs/benchmarks.md).
    baseline)
      if [ "$quick" = 1 ]; then
        run_step baseline "$bench/baseline.sh" --out "$out/baseline" --quick --splits 1 --systems "sklearn hypertune" --build-dir "$build"
      else
        run_step baseline "$bench/baseline.sh" --out "$out/baseline" --splits 1 --systems "sklearn hypertune" \
          --datasets "letter vehicle churn ames ozone" --build-dir "$build"
      fi ;;
    early_stopping | race | large_study | chaos | fuzz | automl) external_step "$step" ;;
  esac
done

# ---------------------------------------------------------------------------------------------
# Report

docs=$root/docs
merging=()
if [[ $merge == 1 ]]; then
  [[ -n $only ]] || { echo "run-all.sh: --merge needs --only" >&2; exit 2; }
  merging=(--merge)
elif [[ -n $only ]]; then
  docs=$out/report
fi
if $python "$bench/make_report.py" report "$out" --command "$invocation" --mode "$mode" --docs "$docs" "${merging[@]}"; then
  echo "run-all: wrote $(show "$docs")/benchmarks.md and $(show "$docs")/bench-results/ in $(($(date +%s) - suite_start)) s" >&2
else
  echo "run-all: the report failed" >&2
  exit 1
fi
