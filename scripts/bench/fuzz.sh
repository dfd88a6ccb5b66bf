#!/usr/bin/env bash
# Fuzzing under AddressSanitizer and UBSan (scripts/fuzz.sh): the wire decoder and the command
# trials' report-line parser, 1,000,000 inputs each (--quick: 100,000). Builds the two fuzz
# programs in OUT_DIR/fuzz_work (no LibTorch). Writes OUT_DIR/fuzz.jsonl and OUT_DIR/fuzz.md.
#
#   scripts/bench/fuzz.sh OUT_DIR [--quick] [--build-dir DIR]   (--build-dir is not used)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out="" inputs=1000000
usage() { echo "usage: scripts/bench/fuzz.sh OUT_DIR [--quick] [--build-dir DIR]" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) inputs=100000 ;;
    --build-dir) [[ $# -ge 2 ]] || usage; shift ;;
    -*) echo "fuzz.sh: unknown option '$1'" >&2; usage ;;
    *) [[ -z $out ]] || usage; out=$1 ;;
  esac
  shift
done
[[ -n $out ]] || usage
mkdir -p "$out"
out=$(cd "$out" && pwd)
HYPERTUNE_FUZZ_BUILD_DIR=$out/fuzz_work "$root/scripts/fuzz.sh" "$inputs" | tee "$out/fuzz.log"

/usr/bin/python3 - "$out" "$inputs" <<'PY'
import json, re, sys
out, inputs = sys.argv[1], int(sys.argv[2])
rows, cur = [], None
for line in open(f"{out}/fuzz.log"):
    line = line.strip()
    m = re.match(r"== (\S+): (\d+) inputs", line)
    if m:
        cur = {"fuzzer": m.group(1), "inputs": int(m.group(2)), "passed": False, "classes": {}}
        rows.append(cur)
        continue
    if cur is None:
        continue
    m = re.match(r"(\d+) inputs: (.*)", line)
    if m:
        cur["classes"] = dict(kv.split("=") for kv in m.group(2).split())
    elif line.startswith("All tests passed"):
        cur["passed"] = True
    elif re.match(r"\d+ ms$", line):
        cur["ms"] = int(line.split()[0])
with open(f"{out}/fuzz.jsonl", "w") as f:
    for r in rows:
        f.write(json.dumps(r) + "\n")
quick = inputs < 1000000
L = ["## Fuzzing: the wire decoder and the report-line parser", "",
     f"Command: `scripts/bench/fuzz.sh OUT_DIR{' --quick' if quick else ''}` (which runs `scripts/fuzz.sh {inputs}`). "
     "Both fuzzers are seeded Catch2 programs built with `-fsanitize=address,undefined` "
     "(`-fno-sanitize-recover`, leak checking on): any crash, sanitizer report, exception or broken invariant "
     "fails them. The decoder's inputs are envelopes built field by field with random values, mutations of "
     "valid frames of every message, and raw bytes; what decodes must re-encode stably and hold only valid UTF-8 "
     "within the nesting limit. The report-line parser's inputs are generated reports whose verdict is known "
     "(well formed or not: duplicate keys, non-finite metrics, bad steps, lone surrogates, nesting past 60), "
     "mutations of them and raw bytes. CI runs both at 60,000 inputs without sanitizers.", "",
     "| fuzzer | inputs | passed | seconds | outcomes |", "| --- | --- | --- | --- | --- |"]
for r in rows:
    cls = ", ".join(f"{k} {int(v):,}" for k, v in sorted(r["classes"].items()))
    L.append(f"| {r['fuzzer']} | {r['inputs']:,} | {'yes' if r['passed'] else 'NO'} | {r.get('ms', 0) / 1000:.1f} | {cls} |")
L.append("")
ok = len(rows) == 2 and all(r["passed"] and r["inputs"] >= 1000000 for r in rows)
L += ["Targets (computed from the numbers above):", "",
      f"- at least 1,000,000 inputs per fuzzer under ASan+UBSan, none failing: {'**met**' if ok else '**MISSED**'} "
      f"({', '.join(str(r['inputs']) + (' passed' if r['passed'] else ' FAILED') for r in rows)})"]
open(f"{out}/fuzz.md", "w").write("\n".join(L) + "\n")
print("\n".join(L))
PY
