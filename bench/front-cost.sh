#!/usr/bin/env bash
# front-cost.sh: what a front (Varnish, nginx) adds to each trial's fixed
# cost (start, ready, front start, stop), against the same server direct.
#
# Runs one exhaustive plan of short trials for a few servers, each direct
# and behind each front, and prints, per front, the median of each phase
# over its trials and the extra fixed cost per trial against direct (the
# issue's aim: under 1.5 s). Phases come from results.json (trials[].phases).
#
# Not part of CI (about a minute); meaningful on a quiet machine.
#
# usage: bench/front-cost.sh [-b BINARY] [-s SERVERS] [-t TRIALS] [-o OUT]
set -euo pipefail

bin="" servers=gunicorn-gthread,uwsgi trials=3 out=""
while getopts "b:s:t:o:h" opt; do
	case $opt in
	b) bin=$OPTARG ;;
	s) servers=$OPTARG ;;
	t) trials=$OPTARG ;;
	o) out=$OPTARG ;;
	*) sed -n '2,13p' "$0"; exit 2 ;;
	esac
done
cd "$(dirname "$0")/.."
if [ -z "$bin" ]; then
	bin=$(mktemp -d)/wsgibench
	PATH=$PATH:/usr/local/go/bin go build -o "$bin" ./cmd/wsgibench
fi
out=${out:-$(mktemp -d)}
"$bin" run --servers "$servers" --front none,varnish,nginx --workers 2 --threads 2 \
	--trials "$trials" --no-racing --duration 1s --warmup 300ms --connections 8 \
	--no-probe --no-trouble --no-capacity --no-ceiling --no-check --out "$out" >/dev/null
/usr/bin/python3 - "$out/results.json" <<'PY'
import json, statistics, sys
f = json.load(open(sys.argv[1]))
by = {}
for r in f["runs"]:
    for t in r.get("trials", []):
        p = t.get("phases")
        if p:
            by.setdefault(r.get("front") or "none", []).append(p)
keys = ["start_s", "ready_s", "front_s", "stop_s"]
print(f"{'front':8} {'trials':>6} " + " ".join(f"{k[:-2]:>7}" for k in keys) + f" {'fixed':>7} {'extra':>7}")
med = lambda ps, k: statistics.median(p.get(k, 0) for p in ps)
fixed = {k: statistics.median(p["total_s"] - p["measure_s"] - p["warmup_s"] for p in ps) for k, ps in by.items()}
for k in ["none", "varnish", "nginx"]:
    if k not in by:
        continue
    ps = by[k]
    extra = fixed[k] - fixed.get("none", 0)
    print(f"{k:8} {len(ps):>6} " + " ".join(f"{med(ps, c):>7.2f}" for c in keys) + f" {fixed[k]:>7.2f} {extra:>+7.2f}")
print("seconds; fixed = total − warm-up − measure (median per trial); extra = against direct")
PY
echo "results: $out/results.json"
