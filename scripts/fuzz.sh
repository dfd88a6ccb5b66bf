#!/usr/bin/env bash
# Runs the protocol decoder and report-line fuzzers under AddressSanitizer and UBSan.
#   scripts/fuzz.sh [INPUTS]     (default 1000000 inputs per fuzzer; CI runs 60000 without sanitizers)
# Builds only the two fuzz programs, in build-fuzz/ (no LibTorch needed).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
inputs=${1:-1000000}
build=${HYPERTUNE_FUZZ_BUILD_DIR:-$root/build-fuzz}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHYPERTUNE_WITH_TORCH=OFF \
  -DHYPERTUNE_BUILD_TESTS=ON \
  -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
cmake --build "$build" -j"$(nproc)" --target decode_fuzz_test report_fuzz_test
export HYPERTUNE_FUZZ_INPUTS=$inputs ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
for t in protocol/decode_fuzz_test worker/report_fuzz_test; do
  echo "== $t: $inputs inputs"
  start=$(date +%s%N)
  "$build/tests/$t" 2>&1 | grep -E "inputs:|passed|failed|FAILED|ERROR|runtime error" | head -20
  echo "   $(( ($(date +%s%N) - start) / 1000000 )) ms"
done
