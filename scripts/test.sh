#!/usr/bin/env bash
# Installs what is needed, then runs every test: unit tests, and integration
# tests that start every installed WSGI server on loopback. Bounded: about
# 10 minutes on 2 cores (16 when the packages run one after the other).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PATH:/usr/local/go/bin"
go vet ./...

# Two streams of packages at once, each one package at a time. Every test
# must hold with both cores busy (a CPU-burning loop on each: see
# bench/hog-tests.sh), so the streams may share the machine; what they must
# not share is ports and temporary directories. A server is started on a port
# the kernel said was free, and two streams picking ports at once may pick the
# same one; and tests that check nothing was left behind look for their kind
# of directory (wsgibench-pg-*) in the temporary directory, where the other
# stream's may be at that moment. So the second stream runs in a network
# namespace of its own, with a loopback of its own, and with a TMPDIR of its
# own (short: unix socket paths must fit in 108 bytes).
# Where one cannot be made (no CAP_SYS_ADMIN, no `ip`), the streams run one
# after the other, which takes about 16 minutes.
mod=$(go list -m)
second=(cmd/wsgibench examples internal/check internal/deploy internal/report
	internal/pgsql internal/probe internal/server internal/front)
second=("${second[@]/#/$mod/}")
first=()
while read -r p; do
	[[ " ${second[*]} " == *" $p "* ]] || first+=("$p")
done < <(go list ./...)

gotest=(go test -p 1 -count=1 -timeout 40m)
isolated() { unshare -n sh -c 'ip link set lo up && exec "$@"' sh "$@"; }
if ! isolated true 2>/dev/null; then
	echo "test.sh: no network namespace here; running the packages one after the other"
	"${gotest[@]}" "${first[@]}" "${second[@]}"
	exit
fi
# The second stream's output is printed whole once it ends.
log=$(mktemp)
tmp=$(mktemp -d /tmp/s2.XXXX)
chmod 1777 "$tmp" # as /tmp: the private PostgreSQL cluster runs as its own user
TMPDIR=$tmp isolated "${gotest[@]}" "${second[@]}" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$log" "$tmp"' EXIT
rc=0
"${gotest[@]}" "${first[@]}" || rc=$?
wait "$pid" || rc=$?
cat "$log"
exit "$rc"
