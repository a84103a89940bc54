#!/usr/bin/env bash
# Install the Debian 12 packages jmmctap needs (as root), or print the one command to run.
#   usage: install-system-deps.sh [run|test]
# Then work around Debian's pgsphere 1.1.1 on PostgreSQL >= 15.20: its install script declares two
# obsolete GAVO DaCHS compatibility operators (@ on smoc) that the stricter commutator check of
# recent PostgreSQL rejects ("commutator operator @> is already the commutator of operator <@";
# pgsphere issue #85, fixed upstream by deleting them). We add an extension version "1.2.0-jmmc"
# whose script is Debian's own 1.2.0 script without that block; jmmctap uses it only when the
# default version cannot be created.
set -euo pipefail
purpose=${1:-run}

packages=(postgresql-15 postgresql-15-pgsphere acl)
if [ "$purpose" = test ]; then
    packages+=(stilts chromium)  # chromium: the portal's browser tests (Playwright drives it)
    # haproxy: the load balancer of the replica topology test (tests/test_topology.py);
    # docker-compose (1.29.2, needs no daemon for `config`): validates docker-compose.yml (tests/test_deploy.py)
    packages+=(haproxy docker-compose)
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# python3 -m venv needs Debian's python3-venv when python3 is Debian's
if ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
    missing+=(python3-venv)
fi

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "jmmctap: missing Debian packages; run: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
    # Debian starts a default cluster on port 5432 that jmmctap does not use.
    if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql/15/main ]; then
        pg_ctlcluster 15 main stop >/dev/null 2>&1 || true
    fi
fi

ext=/usr/share/postgresql/15/extension
patched="$ext/pg_sphere--1.2.0-jmmc.sql"
if [ -f "$ext/pg_sphere--1.2.0.sql" ] && [ ! -f "$patched" ] \
        && grep -q 'backwards-compatible operators for GAVO DaCHS' "$ext/pg_sphere--1.2.0.sql"; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "jmmctap: Debian's pgsphere needs a one-time fix for PostgreSQL 15.20+; run: sudo $0" >&2
        exit 1
    fi
    # Drop from the DaCHS comment up to (not including) the next section comment.
    awk '/backwards-compatible operators for GAVO DaCHS/ {skip=1}
         skip && /^-- debugging/ {skip=0}
         !skip' "$ext/pg_sphere--1.2.0.sql" > "$patched.tmp"
    mv "$patched.tmp" "$patched"
    echo "added pgsphere extension version 1.2.0-jmmc (Debian 1.2.0 without the obsolete DaCHS @ operators)"
fi
