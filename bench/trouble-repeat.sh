#!/usr/bin/env bash
# trouble-repeat.sh: are the trouble scores repeatable? (issue 7: "three
# identical trouble runs agree within ±10 points per scenario and server")
#
# Runs `wsgibench trouble` RUNS times in a row with the same flags (every
# available server, every scenario unless -c says otherwise), each into its
# own directory, then prints, per server and scenario, the share of
# throughput each run kept and the spread (most − least, in points of 100),
# and the slow-threshold counts side by side (they agree when within a
# factor 1.5). It exits 1 if any share's spread is over LIMIT points or
# any threshold disagrees. Not part of CI: about a minute per server per run.
#
# usage: bench/trouble-repeat.sh [-b BINARY] [-n RUNS] [-l LIMIT] [-o OUT] [-- trouble flags]
set -euo pipefail

bin="" runs=3 limit=10 out=""
while getopts "b:n:l:o:h" opt; do
	case $opt in
	b) bin=$OPTARG ;;
	n) runs=$OPTARG ;;
	l) limit=$OPTARG ;;
	o) out=$OPTARG ;;
	*) sed -n '2,13p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "$bin" ]; then
	bin=$(mktemp -d)/wsgibench
	(cd "$root" && PATH=/usr/local/go/bin:$PATH go build -o "$bin" ./cmd/wsgibench)
fi
[ -n "$out" ] || out=$(mktemp -d)
mkdir -p "$out"
for ((i = 1; i <= runs; i++)); do
	start=$(date +%s)
	"$bin" trouble --out "$out/run$i" "$@" > "$out/run$i.log" 2>&1
	echo "run $i: $(( $(date +%s) - start )) s" >&2
done
# The Debian interpreter: its json module is all this needs.
/usr/bin/python3 - "$limit" "$out"/run*/results.json <<'PY'
import json, sys, math
limit = float(sys.argv[1])
runs = [json.load(open(p)) for p in sys.argv[2:]]
cells = {}
for n, f in enumerate(runs):
    for rb in f.get("robustness") or []:
        for c in rb["scenarios"]:
            v = None if c.get("error") else 100 * c["retained"]
            cells.setdefault((rb["server"], c["id"]), [None] * len(runs))[n] = (v, c.get("threshold"), c.get("outcome"))
worst, over = 0.0, []
print(f"{'server':<18} {'scenario':<15} " + " ".join(f"{'run'+str(i+1):>12}" for i in range(len(runs))) + "   spread")
for (srv, sc), vals in sorted(cells.items()):
    if sc == "slow-threshold":
        # A count, not a share: the fewest slow clients that halved the
        # victims (0: none up to 256). Agreement: within a factor 1.5.
        ts = [v[1] or 0 for v in vals if v and v[0] is not None]
        cols = [f"{('>256' if not v[1] else v[1]) if v and v[0] is not None else '-':>12}" for v in vals]
        if len(ts) < len(runs):
            spread, flag = float("nan"), ""
        elif all(t == 0 for t in ts):
            spread, flag = 1.0, ""
        elif any(t == 0 for t in ts):
            spread, flag = float("inf"), "  OVER"
        else:
            spread = max(ts) / min(ts)
            flag = "  OVER" if spread > 1.5 else ""
        if flag:
            over.append(f"{srv} {sc}")
        print(f"{srv:<18} {sc:<15} " + " ".join(cols) + f"   ×{spread:.2f}{flag}")
        continue
    nums = [v[0] for v in vals if v and v[0] is not None]
    spread = max(nums) - min(nums) if len(nums) == len(runs) else float("nan")
    cols = []
    for v in vals:
        if not v or v[0] is None:
            cols.append(f"{'-':>12}")
            continue
        extra = f" ({v[2]})" if v[2] else ""
        cols.append(f"{v[0]:>5.0f}{extra:>7}")
    flag = "  OVER" if not spread <= limit else ""
    if spread == spread:
        worst = max(worst, spread)
    if flag:
        over.append(f"{srv} {sc}")
    print(f"{srv:<18} {sc:<15} " + " ".join(cols) + f"   {spread:5.1f}{flag}")
shares = [k for k in cells if k[1] != "slow-threshold"]
print(f"\n{len(shares)} server×scenario shares and {len(cells)-len(shares)} thresholds over {len(runs)} runs; widest share spread {worst:.1f} points (limit {limit:g}); thresholds agree within ×1.5")
if over:
    print(f"{len(over)} over: " + ", ".join(over))
    sys.exit(1)
PY
