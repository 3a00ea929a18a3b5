#!/usr/bin/env bash
# Benchmark of propagation across a cluster: how long after a change made through one instance
# the other instances honour it. Starts a three-instance cluster on one PostgreSQL database with
# scripts/cluster.sh (release build, its own database, state dir and ports, reset first), then
# bench/cluster_probe.py runs BENCH_TRIALS trials per kind of change — key revocation, key
# permission removed, key reroll, stream suspension, stream resumption, Edgecast DirPath change
# (the kinds of tests/it/cluster.rs) — each: the change through instance 1's HTTP API, then
# instances 2 and 3 polled as fast as possible (a thread and a kept-alive connection each) until
# both honour it. Prints p50/p99/max per kind. Target: p99 <= 50 ms for every kind (the
# documented bound, which the tests hold, is a second).
#
# Env: BENCH_TRIALS (100), BENCH_TARGET_MS (50), BENCH_CLUSTER_PORTS (7811,7812,7813),
#      BENCH_SKIP_BUILD (set: use target/release/streamgate as it is), BENCH_KEEP (set: leave the
#      cluster running afterwards).
# Always exits 0 once the benchmark ran (it is a report); non-zero only if it could not run.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 1; }

export CLUSTER_DB=streamgate_bench_cluster
export CLUSTER_DIR="$PWD/target/cluster-bench"
export CLUSTER_PORTS="${BENCH_CLUSTER_PORTS:-7811,7812,7813}"
export CLUSTER_PROFILE=release
if [ -n "${BENCH_SKIP_BUILD:-}" ]; then export CLUSTER_SKIP_BUILD=1; fi
# The polls must see the change log, not the limits: no rate limit in reach, no throttling of
# the refused publishes a poll sees before a change arrives, and the two pollers may publish
# one stream key at the same time.
export STREAMGATE_RATE_LIMIT=1000000000
export STREAMGATE_INGEST_MAX_FAILURES=1000000000
export STREAMGATE_INGEST_ALLOW_CONCURRENT=1
export STREAMGATE_LOG=warn

cleanup() {
  if [ -z "${BENCH_KEEP:-}" ]; then scripts/cluster.sh stop || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

scripts/cluster.sh reset
scripts/cluster.sh start >"$CLUSTER_DIR/start.out"

first="$CLUSTER_DIR/first-start.txt"
api_key=$(grep -oE 'sg_production_[A-Za-z0-9]+' "$first" | head -n 1)
token=$(grep -oE 'sgi_[A-Za-z0-9_]+' "$first" | head -n 1)
account=$(sed -nE 's/.*\(number ([0-9A-Fa-f]+),.*/\1/p' "$first" | head -n 1)
[ -n "$api_key" ] && [ -n "$token" ] && [ -n "$account" ] || { echo "cannot read the first start's credentials from $first" >&2; exit 1; }
read -r -a ports <<<"$(printf '%s' "$CLUSTER_PORTS" | tr ',' ' ')"
[ ${#ports[@]} -eq 3 ] || { echo "BENCH_CLUSTER_PORTS must name three ports" >&2; exit 1; }

cat <<EOF
streamgate cluster propagation benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ)
machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)
cluster: 3 release instances on ports ${ports[*]}, PostgreSQL $(psql -h 127.0.0.1 -U postgres -tAc 'SHOW server_version' 2>/dev/null || echo '?') database $CLUSTER_DB
EOF
others=$(pgrep -a -x 'wrk|cargo|rustc' | cut -c1-100 || true)
if [ -n "$others" ]; then printf 'WARNING: other load on the machine (figures are disturbed):\n%s\n' "$others"; fi

python3 bench/cluster_probe.py "http://127.0.0.1:${ports[0]}" "http://127.0.0.1:${ports[1]}" \
  "http://127.0.0.1:${ports[2]}" "$api_key" "$token" "$account"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0
