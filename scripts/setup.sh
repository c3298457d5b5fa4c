#!/usr/bin/env bash
# Installs what wsgibench needs on Debian/Ubuntu: the WSGI servers as Debian
# packages for /usr/bin/python3, Apache (for mod_wsgi), nginx and wrk (for the
# load-generator benchmark), and Go if missing. Idempotent and quiet when
# everything is already there. On other systems it says what to install.
set -euo pipefail

PACKAGES=(
  python3 python3-venv
  python3-gunicorn python3-waitress python3-cheroot python3-twisted
  python3-gevent python3-eventlet python3-uvicorn python3-hypercorn python3-asgiref
  python3-tornado python3-werkzeug python3-paste
  python3-flask python3-django  # examples/: the same CRUD API in Flask and Django
  uwsgi-core uwsgi-plugin-python3
  apache2 libapache2-mod-wsgi-py3
  nginx varnish wrk time
  postgresql python3-psycopg python3-psycopg2  # run --db postgres: a private cluster, psycopg 3 else 2
  procps util-linux iproute2 curl ca-certificates  # iproute2: scripts/test.sh's second stream brings up its own loopback
  chromium fonts-dejavu-core  # the HTML report's browser test (headless)
)
# Services these packages start on install; wsgibench runs private
# instances of its own, so newly installed ones are stopped again.
SERVICES=(apache2 nginx varnish postgresql)

say() { printf 'setup: %s\n' "$*" >&2; }

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
  cat >&2 <<'MSG'
setup: this is not a Debian/Ubuntu system; install these yourself, then run wsgibench with --python:
  Go 1.22 or newer (https://go.dev/dl/)
  python -m venv ~/wsgibench-venv && ~/wsgibench-venv/bin/pip install \
      gunicorn gevent eventlet uwsgi waitress cheroot twisted uvicorn hypercorn tornado werkzeug paste mod_wsgi psycopg
  Apache httpd with its development headers (for mod_wsgi), and optionally wrk, nginx and PostgreSQL (--db postgres)
  then: wsgibench servers --python ~/wsgibench-venv/bin/python
MSG
  exit 1
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else say "need root or sudo to install packages"; exit 1; fi
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  newly=()
  for s in "${SERVICES[@]}"; do
    for m in "${missing[@]}"; do [ "$m" = "$s" ] && newly+=("$s"); done
  done
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq >/dev/null
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  for s in "${newly[@]}"; do
    if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
      "${SUDO[@]}" systemctl disable --now "$s" >/dev/null 2>&1 || true
    else
      "${SUDO[@]}" service "$s" stop >/dev/null 2>&1 || true
    fi
    say "stopped the system $s service the package started (wsgibench runs its own private instance)"
  done
fi

# Go: use the one on PATH or in /usr/local/go; otherwise Debian's.
if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    say "Go is in /usr/local/go/bin: add it to PATH (export PATH=\$PATH:/usr/local/go/bin)"
  else
    say "installing golang-go"
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends golang-go >/dev/null
  fi
fi
exit 0
