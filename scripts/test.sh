#!/usr/bin/env bash
# Runs every test of streamgate. Installs and starts what the tests need first.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

# --- PostgreSQL: the store suite runs on it as well as on SQLite -------------------------------
PG_URL="${STREAMGATE_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}"
export STREAMGATE_TEST_PG_URL="$PG_URL"

# ensure_postgres, ensure_database: shared with scripts/cluster.sh.
. scripts/pg.sh
ensure_postgres
ensure_database test

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
# (bench/soak.sh: fails on heap growth over 10% and 12 MiB, any 5xx or unanswered request) ---------------------
log "soak (bench/soak.sh, debug build, 60 s measured)"
SOAK_SECONDS=60 SOAK_PROFILE=debug ./bench/soak.sh
