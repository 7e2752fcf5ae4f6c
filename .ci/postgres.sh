#!/usr/bin/env bash
# CI: a live PostgreSQL for the PostgreSQL-source tests. Installs Debian's `postgresql` if missing, starts
# its cluster, creates a throwaway role and database, and prints the DSN as a shell line to eval:
#     eval "$(.ci/postgres.sh)"    # exports HANLINK_TEST_PG_DSN (and HANLINK_TEST_PG_REQUIRED=1)
# The password is random per call (never stored in the repo); only stdout carries the export lines.
set -euo pipefail
ROLE=hanlink_test
DB=hanlink_test

log() { echo "postgres.sh: $*" >&2; }

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    log "installing Debian's postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 && apt-get install -y -qq postgresql >&2
fi

# The newest installed cluster; create one if the package left none (e.g. installed without a cluster).
read -r VER CLUSTER PORT STATUS _ < <(pg_lsclusters --no-header | sort -k1,1nr | head -1) || true
if [ -z "${VER:-}" ]; then
    VER=$(ls /usr/lib/postgresql | sort -nr | head -1)
    CLUSTER=main
    log "creating cluster $VER/$CLUSTER"
    pg_createcluster "$VER" "$CLUSTER" >&2
    read -r VER CLUSTER PORT STATUS _ < <(pg_lsclusters --no-header | sort -k1,1nr | head -1)
fi
if [ "$STATUS" != "online" ]; then
    log "starting cluster $VER/$CLUSTER on port $PORT"
    pg_ctlcluster "$VER" "$CLUSTER" start >&2
fi
for _ in $(seq 1 30); do
    runuser -u postgres -- pg_isready -q -p "$PORT" && break
    sleep 1
done
runuser -u postgres -- pg_isready -q -p "$PORT" || { log "server on port $PORT did not come up"; exit 1; }

PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20)
psql_admin() { runuser -u postgres -- psql -p "$PORT" -v ON_ERROR_STOP=1 -qAt "$@"; }
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" = "1" ]; then
    psql_admin -c "ALTER ROLE $ROLE WITH LOGIN PASSWORD '$PASSWORD'" >&2
else
    psql_admin -c "CREATE ROLE $ROLE WITH LOGIN PASSWORD '$PASSWORD'" >&2
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != "1" ]; then
    psql_admin -c "CREATE DATABASE $DB OWNER $ROLE ENCODING 'UTF8' TEMPLATE template0" >&2
fi
log "ready: $ROLE@127.0.0.1:$PORT/$DB"
echo "export HANLINK_TEST_PG_DSN='postgresql://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DB'"
echo "export HANLINK_TEST_PG_REQUIRED=1"
