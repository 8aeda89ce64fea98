#!/usr/bin/env bash
# Make sure the local PostgreSQL and Redis answer; start them when installed but stopped.
set -euo pipefail

pg_ok() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_ok() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! pg_ok; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "Starting PostgreSQL..."
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  fi
  for _ in $(seq 1 30); do pg_ok && break; sleep 1; done
  pg_ok || { echo "PostgreSQL is not answering on 127.0.0.1:5432 (set DATABASE_URL)." >&2; exit 1; }
fi

if ! redis_ok; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "Starting Redis..."
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
  fi
  for _ in $(seq 1 30); do redis_ok && break; sleep 1; done
  redis_ok || { echo "Redis is not answering on 127.0.0.1:6379 (set CELERY_TEST_BROKER_URL)." >&2; exit 1; }
fi
echo "PostgreSQL and Redis are up."
