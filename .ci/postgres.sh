#!/usr/bin/env bash
# A PostgreSQL database for the ingestion server tests; prints its URL on stdout (everything
# else goes to stderr), so CI can do: export TELEMETRY_KIT_TEST_PG_URL=$(bash .ci/postgres.sh)
# Idempotent: installs PostgreSQL from Debian's packages only when it is missing, starts the
# first cluster only when it is down, creates the role and the database only when absent.
# Needs root, or sudo for apt-get and for the postgres account.
set -euo pipefail

PG_USER="${TK_PG_USER:-telemetry_kit}"
PG_PASSWORD="${TK_PG_PASSWORD:-telemetry_kit}"
PG_DB="${TK_PG_DB:-telemetry_kit_test}"

log() { echo "postgres.sh: $*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! command -v pg_lsclusters >/dev/null 2>&1; then
  log "installing PostgreSQL from the Debian packages"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi

# The first cluster, or a new one for the newest installed version.
cluster_line="$(pg_lsclusters --no-header 2>/dev/null | head -n 1 || true)"
if [ -z "$cluster_line" ]; then
  version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
  log "creating cluster $version/main"
  as_root pg_createcluster "$version" main >&2
  cluster_line="$(pg_lsclusters --no-header | head -n 1)"
fi
read -r version cluster port status _ <<<"$cluster_line"

if ! pg_ctlcluster "$version" "$cluster" status >/dev/null 2>&1; then
  log "starting cluster $version/$cluster (status: $status)"
  as_root pg_ctlcluster "$version" "$cluster" start >&2
fi

for _ in $(seq 1 60); do
  if pg_isready -q -h 127.0.0.1 -p "$port"; then break; fi
  sleep 0.5
done
pg_isready -q -h 127.0.0.1 -p "$port" || { log "PostgreSQL on port $port did not become ready"; exit 1; }

psql_admin() { as_postgres psql -v ON_ERROR_STOP=1 -p "$port" -d postgres -tAc "$1"; }

if [ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'")" != "1" ]; then
  log "creating role $PG_USER"
  psql_admin "CREATE ROLE \"$PG_USER\" LOGIN PASSWORD '$PG_PASSWORD'" >/dev/null
fi
if [ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != "1" ]; then
  log "creating database $PG_DB"
  psql_admin "CREATE DATABASE \"$PG_DB\" OWNER \"$PG_USER\"" >/dev/null
fi

echo "postgres://$PG_USER:$PG_PASSWORD@127.0.0.1:$port/$PG_DB"
