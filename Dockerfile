# syntax=docker/dockerfile:1
# jmmctap image: `jmmctap serve`, `jmmctap worker` and every other command, against an external PostgreSQL
# (JMMCTAP_DSN; JMMCTAP_QUERY_DSNS for read replicas). Build: docker build -t jmmctap .
# Multi-stage: the builder makes the virtualenv (exact versions of constraints.txt); the runtime stage holds
# the venv and the source tree only (no compiler, no pip cache), runs as an unprivileged user and needs no
# network when it starts (nothing is installed or downloaded at start-up).

FROM debian:12-slim AS builder
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-dev build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/jmmctap
# jmmctap reads sql/, tap_schema/, schemas/, ingest/ and registry.yaml from its source tree (resources.py),
# so it is installed editable at the path it keeps in the runtime stage
COPY pyproject.toml constraints.txt README.md registry.yaml ./
COPY src ./src
COPY sql ./sql
COPY tap_schema ./tap_schema
COPY schemas ./schemas
COPY ingest ./ingest
RUN python3 -m venv .venv \
 && .venv/bin/pip install --no-cache-dir --disable-pip-version-check -c constraints.txt -e . \
 && find . -name __pycache__ -prune -exec rm -rf {} +

FROM debian:12-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 libpq5 ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/jmmctap --create-home --shell /usr/sbin/nologin jmmctap
COPY --from=builder /opt/jmmctap /opt/jmmctap
ENV PATH=/opt/jmmctap/.venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    JMMCTAP_HOME=/var/lib/jmmctap \
    JMMCTAP_HOST=0.0.0.0 \
    JMMCTAP_PORT=8000
USER jmmctap
WORKDIR /var/lib/jmmctap
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
# tini: signals reach jmmctap (graceful stop on SIGTERM), zombies are reaped
ENTRYPOINT ["tini", "--", "jmmctap"]
CMD ["serve"]
