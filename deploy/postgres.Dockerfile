# PostgreSQL 15 with pgsphere, for docker-compose.yml's primary and replica: installed at build time, so
# that the containers need no network when they start.
FROM postgres:15-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15-pgsphere \
 && rm -rf /var/lib/apt/lists/*
COPY deploy/postgres/ /docker-entrypoint-initdb.d/
COPY deploy/replica-entrypoint.sh /usr/local/bin/replica-entrypoint.sh
