#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1, installing them from Debian where missing,
# and that the `edgeflow` database role exists with CREATEDB (pytest-django creates its test database);
# then that nginx is installed too (ensure-stack-tools.sh: the fault tests' multi-process stack).
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root apt-get update -qq >/dev/null || true
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "Installing PostgreSQL…"; apt_install postgresql
fi
if ! pg_ready; then
  version=$(ls /etc/postgresql | sort -n | tail -1)
  echo "Starting PostgreSQL $version…"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || as_root pg_ctlcluster "$version" main start
  for _ in $(seq 30); do pg_ready && break; sleep 1; done
fi
pg_ready || { echo "PostgreSQL does not answer on 127.0.0.1:5432" >&2; exit 1; }
as_root su postgres -c "psql -q -tAc \"SELECT 1 FROM pg_roles WHERE rolname='edgeflow'\" | grep -q 1 || psql -q -c \"CREATE ROLE edgeflow LOGIN PASSWORD 'edgeflow' CREATEDB\"" >/dev/null

redis_ready() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
if ! command -v redis-server >/dev/null 2>&1; then
  echo "Installing Redis…"; apt_install redis-server redis-tools
fi
if ! redis_ready; then
  echo "Starting Redis…"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 30); do redis_ready && break; sleep 0.5; done
fi
redis_ready || { echo "Redis does not answer on 127.0.0.1:6379" >&2; exit 1; }
echo "PostgreSQL and Redis are up."
# nginx for the multi-process stack (tests/stack, `make stack`), which runs its own copy of each program
bash "$(dirname "$0")/ensure-stack-tools.sh"
