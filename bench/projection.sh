#!/usr/bin/env bash
# projection.sh: how far the capacity projection misses on this machine.
#
# Runs `wsgibench run --check-projection` for a few servers at one shape on
# a machine with at least two CPUs: the server is pinned to the CPUs the
# generator leaves it (one, on two CPUs), its capacity searched there, its
# parallelism ceiling measured with every CPU allowed, its capacity on every
# CPU predicted from those two, and then measured (generator sharing the
# CPUs). It prints each server's ceiling, prediction, measurement and error,
# and leaves results.json (projection_checks) in the output directory.
#
# Not part of CI: it takes about a minute per server, and the figures are
# only meaningful on a quiet machine (the ceilings record what other
# programs used meanwhile: check other_cores in results.json).
#
# usage: bench/projection.sh [-b BINARY] [-s SERVERS] [-w WORKERS] [-l WORKLOAD] [-o OUT]
#   -b  wsgibench binary (default: built from ./cmd/wsgibench)
#   -s  comma-separated servers (default gunicorn-sync,waitress)
#   -w  processes (default 3; thread-only servers run that many threads)
#   -l  workload (default cpu: the ceiling is clearest where requests are CPU work)
#   -o  output directory (default: a temporary directory)
set -euo pipefail

bin="" servers=gunicorn-sync,waitress workers=3 workload=cpu out=""
while getopts "b:s:w:l:o:h" opt; do
	case $opt in
	b) bin=$OPTARG ;;
	s) servers=$OPTARG ;;
	w) workers=$OPTARG ;;
	l) workload=$OPTARG ;;
	o) out=$OPTARG ;;
	*) sed -n '2,22p' "$0"; exit 2 ;;
	esac
done
if [ "$(nproc)" -lt 2 ]; then
	echo "projection.sh: needs at least two CPUs (this machine allows $(nproc))" >&2
	exit 1
fi
if [ -z "$bin" ]; then
	bin=$(mktemp -d)/wsgibench
	(cd "$(dirname "$0")/.." && go build -o "$bin" ./cmd/wsgibench)
fi
[ -n "$out" ] || out=$(mktemp -d)

"$bin" run --servers "$servers" --workers "$workers" --workload "$workload" \
	--trials 3 --duration 2s --warmup 500ms --capacity-probe 2s \
	--no-probe --no-trouble --check-projection --out "$out" >/dev/null ||
	echo "projection.sh: wsgibench run failed (exit $?); what it measured follows" >&2

python3 - "$out/results.json" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
for c in f.get("ceilings", []):
    print(f"ceiling    {c['server']:<16} {c['shape']['workers']}x{c['shape']['threads']:<3} "
          f"{c['cores']:.2f} cores of {len(c['cpus'])} (generator {c['generator_cores']:.2f}, other programs {c['other_cores']:.2f}, "
          f"machine-bound {c['machine_bound']})")
errs = []
for c in f.get("projection_checks", []):
    if c.get("measured_closed_rps"):
        print(f"closed     {c['server']:<16} {c['from_cpus']} CPU trials "
              f"-> predicted {c['predicted_closed_rps']:.0f} req/s on {c['to_cpus']}; measured {c['measured_closed_rps']:.0f}: error {100*c['closed_error']:+.1f}%; "
              f"for the {c['available_cores']:.2f} cores left free: predicted {c['predicted_available_rps']:.0f}, error {100*c['available_error']:+.1f}%")
    if not c.get("measured_rps"):
        print(f"check      {c['server']:<16} no measurement: {c.get('note', '')}")
        continue
    errs.append(abs(c["error"]))
    print(f"check      {c['server']:<16} {c['from_cpus']} CPU {c['measured_from_rps']:.0f} req/s x ceiling {c['ceiling']:.2f} "
          f"-> predicted {c['predicted_rps']:.0f} on {c['to_cpus']}; measured {c['measured_rps']:.0f}: error {100*c['error']:+.1f}%")
    print(f"           {c.get('note', '')}")
    if c.get("cpu_ms_per_1k_from") and c.get("cpu_ms_per_1k_to"):
        r = c["cpu_ms_per_1k_to"] / c["cpu_ms_per_1k_from"]
        print(f"           CPU per 1k requests: {c['cpu_ms_per_1k_from']:.0f} ms on {c['from_cpus']} CPU, {c['cpu_ms_per_1k_to']:.0f} ms on {c['to_cpus']} "
              f"(x{r:.2f}; the projection assumes x1.00, and this ratio does not depend on other load)")
if errs:
    print(f"mean absolute error {100*sum(errs)/len(errs):.1f}% over {len(errs)} servers")
PY
echo "results: $out/results.json"
