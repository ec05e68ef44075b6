#!/usr/bin/env bash
# Benchmarks the real Backstage catalog backend on the same generated catalogs as bench/run.sh.
#
#   bench/peer.sh [N ...]          default N: 10000
#
# Runs the peer harness's run-peer.sh (npm ci the first time, PostgreSQL, a fresh database,
# bench.py) with its work and result folders pointed at bench/work and bench/results, so the
# catalog is the same bench/work/catalog-N (same generator, same seed) and the result lands
# beside Portico's as bench/results/backstage-N.{json,txt,log}.
#
# Environment (all optional): PEER_DIR (../shared/bench/backstage-peer, relative to the
# repository root), BACKSTAGE_PORT (7207 here, so it does not collide with a Portico on 7007),
# SEED (42), PGSUPERUSER (postgres: creates the PGUSER role when missing), and everything
# run-peer.sh reads (PGHOST, PGPORT, PGUSER, PGPASSWORD, BENCH_REQUESTS, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

[ $# -gt 0 ] || set -- 10000
PEER_DIR=${PEER_DIR:-../shared/bench/backstage-peer}
if ! PEER=$(cd "$PEER_DIR" 2>/dev/null && pwd) || [ ! -f "$PEER/run-peer.sh" ]; then
  echo "[peer] the Backstage peer harness (run-peer.sh) was not found at '$PEER_DIR'" >&2
  echo "[peer] (relative to $ROOT); set PEER_DIR to the folder that holds it" >&2
  exit 1
fi
command -v node >/dev/null && command -v npm >/dev/null || {
  echo "[peer] node and npm are needed to run Backstage" >&2
  exit 1
}

mkdir -p "$ROOT/bench/work" "$ROOT/bench/results"
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432}
export PGUSER=${PGUSER:-bsbench} PGPASSWORD=${PGPASSWORD:-bsbench}
# run-peer.sh creates its role through `runuser -u postgres -- psql`, which inherits the PGUSER
# exported above and so cannot connect while the role is missing: create it here first,
# through the PostgreSQL superuser (PGSUPERUSER) when that one can connect.
if pg_isready -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null &&
  ! psql -h "$PGHOST" -p "$PGPORT" -d postgres -qtAc "select 1" >/dev/null 2>&1; then
  echo "[peer] creating role $PGUSER (LOGIN CREATEDB) as ${PGSUPERUSER:-postgres}" >&2
  PGPASSWORD= psql -v ON_ERROR_STOP=1 -h "$PGHOST" -p "$PGPORT" -U "${PGSUPERUSER:-postgres}" -d postgres -qc \
    "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='$PGUSER') THEN
       CREATE ROLE \"$PGUSER\" LOGIN CREATEDB PASSWORD '$PGPASSWORD'; END IF; END \$\$;"
fi
export BACKSTAGE_PORT=${BACKSTAGE_PORT:-7207}
export BENCH_WORK_DIR=$ROOT/bench/work BENCH_RESULTS_DIR=$ROOT/bench/results
bash "$PEER/run-peer.sh" "$@"
mv -f "$ROOT/bench/results/versions.txt" "$ROOT/bench/results/backstage-versions.txt"
