#!/bin/bash
# The streaming replica: on its first start, a copy of the primary (pg_basebackup -R writes standby.signal and
# primary_conninfo; -S uses the slot made by postgres/10-replication.sh); then PostgreSQL as a hot standby.
set -euo pipefail
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    until pg_isready -q -h primary; do sleep 1; done
    PGPASSWORD="$REPLICATION_PASSWORD" pg_basebackup -h primary -U replicator -D "$PGDATA" -R -S replica1 \
        -X stream -c fast
    chmod 0700 "$PGDATA"
fi
exec postgres -c hot_standby=on
