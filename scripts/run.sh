#!/usr/bin/env bash
# Installs what is needed, builds wsgibench and runs the default comparison:
# every installed server × two shapes × the CRUD workload, raced: 3 trials
# each, then up to 8 for the contenders (see README: racing).
# Extra arguments go to `wsgibench run` (e.g. --servers uwsgi,waitress).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PATH:/usr/local/go/bin"
go build -o bin/wsgibench ./cmd/wsgibench
exec bin/wsgibench run --out wsgibench-out "$@"
