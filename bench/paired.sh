#!/usr/bin/env bash
# paired.sh: do paired trials separate two servers of known, close capacity
# in fewer trials than unpaired ones?
#
# One server, one shape (gunicorn-sync 1×1 by default, pinned to one CPU),
# two workloads of the bundled app's /cpu endpoint whose requests burn a
# known amount of CPU each (2000 µs and 2350 µs of thread CPU time: with
# the server's own overhead, about 15% apart in capacity). They run as two
# cells of one exhaustive plan (--no-racing), so trial t of each ran side
# by side in round t, in an order drawn per round: pairs. bench/paired
# then takes every window of n consecutive pairs and counts how often the
# unpaired test (Mann-Whitney U) and the paired ones (Wilcoxon signed-rank,
# paired t on the log-ratios) separate the two at p < 0.05 in the true
# direction (and, apart, in the wrong one), and prints the
# noise: each cell's spread between trials, and the spread of the
# within-pair ratios against what it would be unpaired.
#
# Not part of CI: about 4 s per trial (2 × TRIALS trials), and the point
# is a machine whose load drifts.
#
# usage: bench/paired.sh [-b BINARY] [-s SERVER] [-n TRIALS] [-d DURATION] [-o OUT]
set -euo pipefail

bin="" srv=gunicorn-sync trials=12 dur=2s out=""
while getopts "b:s:n:d:o:h" opt; do
	case $opt in
	b) bin=$OPTARG ;;
	s) srv=$OPTARG ;;
	n) trials=$OPTARG ;;
	d) dur=$OPTARG ;;
	o) out=$OPTARG ;;
	*) sed -n '2,21p' "$0"; exit 2 ;;
	esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "$bin" ]; then
	bin=$(mktemp -d)/wsgibench
	(cd "$root" && go build -o "$bin" ./cmd/wsgibench)
fi
[ -n "$out" ] || out=$(mktemp -d)

"$bin" run --servers "$srv" --workers 1 --threads 1 \
	--workload "GET /cpu?us=2000,GET /cpu?us=2350" --connections 4 \
	--no-racing --trials "$trials" --duration "$dur" --warmup 500ms \
	--no-probe --no-trouble --no-capacity --no-ceiling --out "$out" >/dev/null ||
	echo "paired.sh: wsgibench run failed (exit $?); what it measured follows" >&2

(cd "$root" && go run ./bench/paired "$out/results.json")
echo "results: $out/results.json"
