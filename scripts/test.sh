#!/usr/bin/env bash
# Runs every test of streamgate. Installs and starts what the tests need first.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

# --- PostgreSQL: the store suite runs on it as well as on SQLite -------------------------------
PG_URL="${STREAMGATE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
export STREAMGATE_TEST_PG_URL="$PG_URL"

ensure_postgres() {
  if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then return 0; fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    log "installing PostgreSQL"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  local ver
  ver=$(ls /etc/postgresql | sort -V | tail -n 1)
  log "starting PostgreSQL $ver"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 1 60); do
    pg_isready -h 127.0.0.1 -p 5432 -q && break
    sleep 0.5
  done
  pg_isready -h 127.0.0.1 -p 5432
  psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test"
}
ensure_postgres

# Schemas left behind by earlier runs (each test makes its own sgtest_* schema).
psql "$PG_URL" -qtAc "SELECT 'DROP SCHEMA IF EXISTS ' || nspname || ' CASCADE;' FROM pg_namespace WHERE nspname LIKE 'sgtest_%'" \
  | psql "$PG_URL" -q >/dev/null 2>&1 || true

# --- client libraries, Node packages, Chromium (compatibility and browser tests) ---------------
log "test dependencies"
./scripts/test-deps.sh

# --- Rust tests: unit, store suite on both backends, in-process server integration -------------
mkdir -p target
log "cargo test"
cargo test --locked --workspace --all-targets --no-fail-fast 2>&1 | tee target/test-output.log
# The policy matrix's size, as its test wrote it (its pass or failure is in the run above).
cat target/test-output/policy-matrix.txt 2>/dev/null || true

# --- soak: the mixed workload for 60 s after a 2-minute warm-up, on the debug build cargo test made
# (bench/soak.sh: fails on RSS growth over 10%, any 5xx or unanswered request) ---------------------
log "soak (bench/soak.sh, debug build, 60 s measured)"
SOAK_SECONDS=60 SOAK_PROFILE=debug ./bench/soak.sh
