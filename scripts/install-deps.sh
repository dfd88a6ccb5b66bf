#!/usr/bin/env bash
# Installs every Debian package HyperTune needs to build, test and benchmark.
# Idempotent: packages already present are left alone. Fails loudly when one cannot be installed.
#
#   scripts/install-deps.sh            build + test dependencies
#   scripts/install-deps.sh --bench    also the peers used by benchmarks (optuna, torch, sklearn)
#   scripts/install-deps.sh --browser  also chromium (report screenshot test)
set -euo pipefail

want_bench=0
want_browser=0
for arg in "$@"; do
  case "$arg" in
    --bench) want_bench=1 ;;
    --browser) want_browser=1 ;;
    --all) want_bench=1; want_browser=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "install-deps.sh: unknown option '$arg' (expected --bench, --browser, --all)" >&2; exit 2 ;;
  esac
done

packages=(
  build-essential cmake pkg-config git
  libtorch-dev libopenblas0-pthread
  libxgboost-dev xgboost python3-xgboost  # xgboost: the CLI that the CMake config of libxgboost-dev names
  libzmq3-dev cppzmq-dev
  libmsgpack-cxx-dev
  libboost-dev
  libeigen3-dev liblbfgspp-dev  # the GP sampler: linear algebra, L-BFGS-B
  catch2
  libyaml-cpp-dev
  libsqlite3-dev sqlite3
  nlohmann-json3-dev
  libcli11-dev
  libspdlog-dev
  dataset-fashion-mnist
  python3 python3-torch
  iproute2
)
if [[ $want_bench == 1 ]]; then packages+=(python3-optuna python3-sklearn python3-numpy hyperfine); fi
if [[ $want_browser == 1 ]]; then packages+=(chromium); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [[ ${#missing[@]} -gt 0 ]]; then
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "install-deps.sh: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo_cmd=(sudo)
  fi
  echo "install-deps.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Verify: every package must now be installed, or we stop here with its name.
failed=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || failed+=("$p")
done
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "install-deps.sh: FAILED to install: ${failed[*]}" >&2
  exit 1
fi

# LibTorch on the reference BLAS trains ~12x slower: make sure OpenBLAS (pthread) is the active BLAS.
if command -v update-alternatives >/dev/null; then
  for alt in libblas.so.3-x86_64-linux-gnu liblapack.so.3-x86_64-linux-gnu; do
    cand=$(update-alternatives --list "$alt" 2>/dev/null | grep openblas-pthread | head -n1 || true)
    if [[ -n "$cand" ]]; then
      cur=$(update-alternatives --query "$alt" 2>/dev/null | awk '/^Value:/{print $2}')
      if [[ "$cur" != "$cand" ]]; then
        ${sudo_cmd[@]+"${sudo_cmd[@]}"} update-alternatives --set "$alt" "$cand" >/dev/null
      fi
    fi
  done
fi
echo "install-deps.sh: all ${#packages[@]} packages present"
