#!/usr/bin/env bash
# Runs Go test packages with a CPU-burning process on every core, to prove that
# no test depends on a quiet machine (issue 7: "pass -count=5 under a CPU hog on
# both cores"). The hogs are children of this script and die with it.
#
#   bench/hog-tests.sh [-count N] [packages...]
#   default: -count 5 ./internal/load ./internal/proc ./internal/trouble ./internal/plan
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
count=5
if [[ "${1:-}" == "-count" ]]; then count=$2; shift 2; fi
pkgs=("$@")
[[ ${#pkgs[@]} -gt 0 ]] || pkgs=(./internal/load ./internal/proc ./internal/trouble ./internal/plan)

hogs=()
cleanup() { for p in "${hogs[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM
for ((i = 0; i < $(nproc); i++)); do
  # A hog per core, at the same priority as the tests. Bounded: 3 hours at most.
  timeout 3h sh -c 'while :; do :; done' &
  hogs+=($!)
done
echo "hogs: ${hogs[*]} on $(nproc) cores; go test -count=$count ${pkgs[*]}"
start=$(date +%s)
rc=0
go test -p 1 -count="$count" -timeout 170m "${pkgs[@]}" || rc=$?
echo "took $(( $(date +%s) - start )) s, rc=$rc"
exit $rc
