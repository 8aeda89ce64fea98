#!/usr/bin/env bash
# Make sure the PostgreSQL of DATABASE_URL and the Redis of CELERY_TEST_BROKER_URL answer
# (default: both on 127.0.0.1); start the local ones when installed but stopped. A server on
# another host is only checked, never started.
set -euo pipefail

DB_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
BROKER_URL="${CELERY_TEST_BROKER_URL:-redis://127.0.0.1:6379/14}"

# pg_isready takes a connection URI as -d and needs neither the database nor the password.
pg_ok() { pg_isready -q -d "$DB_URL" 2>/dev/null; }
redis_ok() { redis-cli -u "$BROKER_URL" ping 2>/dev/null | grep -q PONG; }
is_local() { case "$1" in *@127.0.0.1[:/]*|*@localhost[:/]*|*//127.0.0.1[:/]*|*//localhost[:/]*) return 0 ;; esac; return 1; }

if ! pg_ok; then
  if is_local "$DB_URL" && command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "Starting PostgreSQL..."
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_ok && break; sleep 1; done
  pg_ok || { echo "PostgreSQL is not answering at DATABASE_URL (default 127.0.0.1:5432)." >&2; exit 1; }
fi

if ! redis_ok; then
  if is_local "$BROKER_URL" && command -v redis-server >/dev/null 2>&1; then
    echo "Starting Redis..."
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
  fi
  for _ in $(seq 1 30); do redis_ok && break; sleep 1; done
  redis_ok || { echo "Redis is not answering at CELERY_TEST_BROKER_URL (default 127.0.0.1:6379)." >&2; exit 1; }
fi
echo "PostgreSQL and Redis are up."
