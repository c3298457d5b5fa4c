#!/usr/bin/env bash
# vs-wrk.sh: CPU cost per request of `wsgibench load` beside wrk's.
#
# Starts nginx (one worker, pinned to CPU 0) serving a small static file on a
# free loopback port, then runs wrk and `wsgibench load` alternately, each
# pinned to CPU 1 with the same connections and duration. For each run it
# takes the generator's user+system CPU seconds (GNU time) and the requests
# it completed, and prints CPU seconds per 100k requests, the ratio of ours to
# wrk's for each pair, and the median ratio. The target is ours <= 1.1x wrk.
#
# Not part of CI: it needs wrk, nginx, taskset, GNU time and two CPUs, and the
# numbers are only meaningful on a quiet machine.
#
# usage: bench/vs-wrk.sh [-b BINARY] [-c CONNECTIONS] [-d DURATION] [-n PAIRS]
#   -b  wsgibench binary (default: built from ./cmd/wsgibench)
#   -c  connections (default 50)
#   -d  duration of each run (default 5s)
#   -n  pairs of runs (default 5)
set -euo pipefail

bin="" conns=50 dur=5s pairs=5
while getopts "b:c:d:n:h" opt; do
	case $opt in
	b) bin=$OPTARG ;;
	c) conns=$OPTARG ;;
	d) dur=$OPTARG ;;
	n) pairs=$OPTARG ;;
	*) sed -n '2,20p' "$0"; exit 2 ;;
	esac
done

for tool in wrk nginx taskset /usr/bin/time python3; do
	command -v "$tool" >/dev/null || { echo "vs-wrk: $tool not found (apt-get install -y wrk nginx time)" >&2; exit 1; }
done
if [ "$(nproc)" -lt 2 ]; then
	echo "vs-wrk: needs two CPUs (nginx on 0, the generator on 1)" >&2
	exit 1
fi

tmp=$(mktemp -d /tmp/vs-wrk.XXXXXX)
chmod 755 "$tmp"
nginx_pid=""
cleanup() {
	if [ -n "$nginx_pid" ]; then
		kill "$nginx_pid" 2>/dev/null || true
		wait "$nginx_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

repo=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "$bin" ]; then
	bin=$tmp/wsgibench
	(cd "$repo" && go build -o "$bin" ./cmd/wsgibench)
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$tmp/www"
head -c 512 /dev/zero | tr '\0' 'x' >"$tmp/www/index.html"
chmod 644 "$tmp/www/index.html"
cat >"$tmp/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process on;
pid $tmp/nginx.pid;
error_log $tmp/error.log warn;
worker_rlimit_nofile 30000;
events { worker_connections 20000; }
http {
    access_log off;
    keepalive_timeout 300s;
    keepalive_requests 1000000000;
    client_body_temp_path $tmp/body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;
    server {
        listen 127.0.0.1:$port;
        root $tmp/www;
    }
}
EOF
taskset -c 0 nginx -p "$tmp" -c "$tmp/nginx.conf" &
nginx_pid=$!
for _ in $(seq 50); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
	sleep 0.1
done
url=http://127.0.0.1:$port/index.html

# run NAME CMD...: runs CMD pinned to CPU 1 and prints "cpu_seconds requests".
run() {
	local name=$1; shift
	/usr/bin/time -f '%U %S' -o "$tmp/time" taskset -c 1 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || {
		echo "vs-wrk: $name failed:" >&2; cat "$tmp/$name.err" >&2; exit 1; }
	local cpu reqs
	cpu=$(awk 'END { print $1 + $2 }' "$tmp/time")
	case $name in
	wrk) reqs=$(awk '/requests in/ { print $1 }' "$tmp/wrk.out") ;;
	ours) reqs=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests"])' "$tmp/ours.out") ;;
	esac
	echo "$cpu $reqs"
}

echo "nginx on CPU 0, generators on CPU 1: -c $conns -d $dur, $pairs pairs, $url"
printf '%-5s %14s %14s %14s %14s %8s\n' pair wrk_requests wrk_cpu/100k ours_requests ours_cpu/100k ratio
ratios=()
for i in $(seq "$pairs"); do
	# Alternate which goes first, so drift in the machine favours neither.
	if [ $((i % 2)) -eq 1 ]; then
		w=$(run wrk wrk -t1 -c "$conns" -d "$dur" "$url")
		o=$(run ours "$bin" load -c "$conns" -d "$dur" --json "$url")
	else
		o=$(run ours "$bin" load -c "$conns" -d "$dur" --json "$url")
		w=$(run wrk wrk -t1 -c "$conns" -d "$dur" "$url")
	fi
	read -r wcpu wreq <<<"$w"
	read -r ocpu oreq <<<"$o"
	line=$(awk -v wc="$wcpu" -v wr="$wreq" -v oc="$ocpu" -v or="$oreq" 'BEGIN {
		w = wc / wr * 1e5; o = oc / or * 1e5
		printf "%14d %14.3f %14d %14.3f %8.3f", wr, w, or, o, o / w }')
	printf '%-5s %s\n' "$i" "$line"
	ratios+=("$(awk '{ print $NF }' <<<"$line")")
done
median=$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
echo "median ratio (ours / wrk CPU per request): $median  (target <= 1.1)"
