#!/usr/bin/env bash
# Starts the PostgreSQL server the scale-out tests use (tests/integration/scaleout.rs)
# and creates their role: installs Debian's `postgresql` package when missing, starts
# (creating if needed) the system's cluster, and creates the login role `distrinas`
# (password `distrinas`, allowed to create databases: each test makes its own).
# Raises max_connections to 200 (restarting the server once), so that the 128-worker
# simulation of examples/scaleout_sim.rs fits (each worker holds one connection).
# Prints the URL the tests connect to; they read it from DISTRINAS_TEST_POSTGRES and
# default to postgres://distrinas:distrinas@127.0.0.1:5432/postgres.
# Usage: scripts/postgres-test-server.sh   (as root, or a user with sudo)
set -euo pipefail
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends postgresql
fi
# the first cluster of the newest installed version, created if there is none
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
cluster=$(pg_lsclusters -h | awk -v v="$version" '$1 == v { print $2; exit }')
if [ -z "$cluster" ]; then
    cluster=main
    $sudo pg_createcluster "$version" "$cluster" >/dev/null
fi
status=$(pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c { print $4 }')
if [ "$status" != "online" ]; then
    $sudo pg_ctlcluster "$version" "$cluster" start
fi
port=$(pg_lsclusters -h | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c { print $3 }')
as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}
for _ in $(seq 1 50); do
    as_postgres pg_isready -q -p "$port" && break
    sleep 0.2
done
as_postgres psql -q -p "$port" -v ON_ERROR_STOP=1 -d postgres <<'SQL'
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'distrinas') THEN
        CREATE ROLE distrinas LOGIN PASSWORD 'distrinas' CREATEDB;
    END IF;
END
$$;
SQL
connections=$(as_postgres psql -tA -p "$port" -d postgres -c "SHOW max_connections")
if [ "$connections" -lt 200 ]; then
    as_postgres psql -q -p "$port" -d postgres -c "ALTER SYSTEM SET max_connections = 200"
    $sudo pg_ctlcluster "$version" "$cluster" restart
    for _ in $(seq 1 50); do
        as_postgres pg_isready -q -p "$port" && break
        sleep 0.2
    done
fi
echo "postgres://distrinas:distrinas@127.0.0.1:${port}/postgres"
