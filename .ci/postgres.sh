#!/usr/bin/env bash
# Starts the machine's PostgreSQL cluster and makes sure the `ci` role and database exist.
# Prints the DATABASE_URL to use. Idempotent: safe to run when it is already up.
set -euo pipefail
version=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -n | tail -n 1)
pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
for _ in $(seq 1 30); do
  pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 1
done
pg_isready -h 127.0.0.1 -p 5432 >/dev/null
su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='ci'\"" | grep -q 1 ||
  su postgres -c "psql -qc \"CREATE ROLE ci LOGIN PASSWORD 'ci' SUPERUSER\""
su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='ci'\"" | grep -q 1 ||
  su postgres -c "createdb -O ci ci"
echo "postgres://ci:ci@127.0.0.1:5432/ci"
