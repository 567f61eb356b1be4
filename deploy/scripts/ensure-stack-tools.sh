#!/usr/bin/env bash
# The programs `python -m deploy.stack` runs, installed from Debian where missing — and never started as services
# of the machine: the stack runs its own PostgreSQL cluster, Redis and nginx as its children.
#   PostgreSQL (initdb, pg_ctl, postgres under /usr/lib/postgresql/<version>/bin), redis-server, nginx.
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server redis-tools)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]}…"
  as_root apt-get update -qq >/dev/null || true
  # RUNLEVEL=1: the packages' scripts do not start their daemons (nginx would take port 80).
  as_root env RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
    "${missing[@]}" >/dev/null
fi
echo "PostgreSQL, Redis and nginx are installed."
