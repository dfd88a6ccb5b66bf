#!/usr/bin/env bash
# Makes the CURVE keys of a sweep and stores them in a Kubernetes Secret (docs/cluster.md):
#   scheduler-secret  the scheduler's secret key     -> HYPERTUNE_KEYS of the scheduler
#   scheduler-public  the scheduler's public key     -> HYPERTUNE_SERVER_KEY of the workers
#   worker-secret     the workers' secret key        -> HYPERTUNE_KEYS of the workers
#   worker-public     the workers' public key        -> HYPERTUNE_ALLOW of the scheduler
# The key files themselves are made in a private temporary directory and removed afterwards.
#
#   scripts/k8s/secret.sh [SECRET_NAME] [--namespace NS] [--print]   (default name: hypertune-keys)
#
# --print writes the Secret's manifest to stdout instead of creating it (for `kubectl apply -f -`
# later, or a sealed-secrets / GitOps flow); kubectl is not needed then.
set -euo pipefail

name=hypertune-keys
ns_args=()
namespace=""
print=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --namespace|-n) [[ $# -ge 2 ]] || { echo "secret.sh: $1 needs a value" >&2; exit 2; }; ns_args=(--namespace "$2"); namespace=$2; shift ;;
    --print) print=1 ;;
    -*) echo "secret.sh: unknown option '$1'" >&2; exit 2 ;;
    *) name=$1 ;;
  esac
  shift
done
ht=${HYPERTUNE:-hypertune}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$ht" keygen scheduler --dir "$dir" >/dev/null
"$ht" keygen worker --dir "$dir" >/dev/null
key() { tail -n 1 "$1"; }  # the key is the last line ('#' may start a key)
if [[ $print -eq 1 ]]; then
  # Z85 keys never contain '"' or '\', so double quotes keep YAML from reading '#', '&', '*'...
  echo "apiVersion: v1"
  echo "kind: Secret"
  echo "metadata:"
  echo "  name: $name"
  [[ -z $namespace ]] || echo "  namespace: $namespace"
  echo "type: Opaque"
  echo "stringData:"
  for k in scheduler-secret:scheduler.key scheduler-public:scheduler.pub worker-secret:worker.key worker-public:worker.pub; do
    echo "  ${k%%:*}: \"$(key "$dir/${k#*:}")\""
  done
  exit 0
fi
kubectl create secret generic "$name" "${ns_args[@]}" \
  --from-literal=scheduler-secret="$(key "$dir/scheduler.key")" \
  --from-literal=scheduler-public="$(key "$dir/scheduler.pub")" \
  --from-literal=worker-secret="$(key "$dir/worker.key")" \
  --from-literal=worker-public="$(key "$dir/worker.pub")"
echo "secret '$name' created; workers use public key $(key "$dir/worker.pub")"
