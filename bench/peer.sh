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
# SEED (42), and everything run-peer.sh reads (PGUSER, PGPASSWORD, BENCH_REQUESTS, ...).
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
export BACKSTAGE_PORT=${BACKSTAGE_PORT:-7207}
export BENCH_WORK_DIR=$ROOT/bench/work BENCH_RESULTS_DIR=$ROOT/bench/results
bash "$PEER/run-peer.sh" "$@"
mv -f "$ROOT/bench/results/versions.txt" "$ROOT/bench/results/backstage-versions.txt"
