#!/usr/bin/env bash
# Installs what is needed, then runs every test: unit tests, and integration
# tests that start every installed WSGI server on loopback. Bounded: well
# under 20 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PATH:/usr/local/go/bin"
go vet ./...
# One package at a time: several packages start real servers and measure
# them, and on 2 cores they would otherwise compete and turn timing flaky.
go test -p 1 -count=1 -timeout 40m ./...
