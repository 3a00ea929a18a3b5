#!/usr/bin/env bash
# Benchmark of the ingest hook: nginx-rtmp `on_publish` decisions per second and latency for an
# allowed publish (a stream key) and a refused one (an unknown key), each as a ratio to the
# bare-hyper baseline (examples/baseline.rs) in the same interleaved rounds.
#
# Targets (issue 7): throughput >= 0.9 x baseline, p99 <= 1.5 x baseline's. An allowed publish is
# audited and opens a session, durable before the hook is answered (SQLite synchronous=FULL,
# group-committed: concurrent hooks share one fsync), so expect it to be far below the baseline:
# the script reports what it costs. Refusals are counted in memory and audited in aggregate.
# Lookups (the ingest token, the same unknown key and the same stream key every time here) are
# cached. The hooks present an ingest token on their URL, as a configured media server does.
# Env: BENCH_DURATION (5s), BENCH_CONNECTIONS (32), BENCH_ROUNDS (3), BENCH_WARMUP (1s),
#      BENCH_SKIP_BUILD (set: use the binaries already in target/release).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${BENCH_DURATION:-5s}"
CONNS="${BENCH_CONNECTIONS:-32}"
ROUNDS="${BENCH_ROUNDS:-3}"
WARMUP="${BENCH_WARMUP:-1s}"

. "$(dirname "$0")/lib.sh"

DB_URL="sqlite://$WORK/bench.db"
sg() { "$SG" --log warn --database-url "$DB_URL" "$@"; }
json_get() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
sg account create --name bench --number 00B1 --json >/dev/null
KEY=$(sg key create --account 00B1 --name bench --json | json_get key)
INGEST_TOKEN=$(sg ingest-token create --name bench --json | json_get token)
HOOK="ingest/nginx-rtmp/publish?token=$INGEST_TOKEN"

# The measured server: no throttling of refusals, concurrent publishes allowed (every request is a
# new publish of the same key), no rate limits.
export STREAMGATE_INGEST_MAX_FAILURES=1000000000 STREAMGATE_INGEST_ALLOW_CONCURRENT=1
start_server SG_ADDR sg "$SG" --log warn --database-url "$DB_URL" serve --listen 127.0.0.1:0
start_server BASE_ADDR base "$BASE" 127.0.0.1:0
STREAM_KEY=$(curl -fsS -XPOST "http://$SG_ADDR/api/stream" -H "Authorization: Bearer $KEY" \
  -H 'content-type: application/json' -d '{"name":"bench"}' | json_get streamKey)

form() { printf 'app=live&flashver=FMLE%%2F3.0&tcurl=rtmp://127.0.0.1/live&pageurl=&addr=10.0.0.1&clientid=1&call=publish&name=%s&type=live' "$1"; }
for c in allowed refused; do
  if [ "$c" = allowed ]; then body=$(form "$STREAM_KEY"); else body=$(form "abcd-efgh-ijkl-mnop"); fi
  cat >"$WORK/$c.lua" <<LUA
wrk.method = "POST"
wrk.body = "$body"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA
done
for c in allowed:200 refused:403; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST "http://$SG_ADDR/$HOOK" \
    -H 'content-type: application/x-www-form-urlencoded' --data "$(if [ "${c%%:*}" = allowed ]; then form "$STREAM_KEY"; else form abcd-efgh-ijkl-mnop; fi)")
  [ "$code" = "${c##*:}" ] || { log "probe ${c%%:*}: got $code"; exit 1; }
done

cat <<INFO
streamgate ingest-hook benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ)
machine: $(nproc) CPU(s); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)
wrk: 1 thread, $CONNS connections, $DURATION per run, $ROUNDS interleaved rounds; $PIN_NOTE
INFO
check_quiet "before the runs"
"${LOAD_PIN[@]}" wrk -t1 -c"$CONNS" -d"$WARMUP" "http://$BASE_ADDR/" >/dev/null
CASES=(base allowed refused)
for r in $(seq 1 "$ROUNDS"); do
  for i in "${!CASES[@]}"; do
    c=${CASES[$(((i + r - 1) % ${#CASES[@]}))]}
    case $c in
      base) measure base "$BASE_ADDR_PID" "http://$BASE_ADDR/" ;;
      *) measure "$c" "$SG_ADDR_PID" "http://$SG_ADDR/$HOOK" -s "$WORK/$c.lua" ;;
    esac
  done
  log "  round $r/$ROUNDS done"
done
check_quiet "after the runs"
stop_servers

python3 - "$WORK/res" "$CLK_TCK" <<'PY'
import os, statistics as st, sys
res, clk = sys.argv[1], int(sys.argv[2])
med = st.median
load = lambda c: [list(map(float, l.split())) for l in open(os.path.join(res, c))]
base = load("base")
print(f"\n{'case':<30}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'cpu us/req':>11}{'x rps':>8}{'x p99':>8}  verdict")
for case, name in (("base", "baseline (bare hyper)"), ("allowed", "on_publish, allowed"), ("refused", "on_publish, refused")):
    rows = load(case)
    rps, p50, p99 = (med(r[i] for r in rows) for i in range(3))
    cpu = med(r[7] * 1e6 / clk / r[3] for r in rows if r[3] > 0)
    line = f"{name:<30}{rps:>9.0f}{p50:>9.3f}{p99:>9.3f}{cpu:>11.1f}"
    if case != "base":
        xr = med(r[0] / b[0] for r, b in zip(rows, base))
        x99 = med(r[2] / b[2] for r, b in zip(rows, base))
        ok = xr >= 0.9 and x99 <= 1.5
        line += f"{xr:>8.3f}{x99:>8.2f}  {'PASS' if ok else 'FAIL'}"
        want = 200 if case == "allowed" else 403
        non2xx = sum(r[4] for r in rows)
        if case == "allowed" and non2xx:
            line += f"  [{non2xx:.0f} non-2xx]"
        if case == "refused" and non2xx != sum(r[3] for r in rows):
            line += "  [some refusals were not 4xx]"
    print(line)
PY
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -s "$WORK/warnings" ]; then cat "$WORK/warnings"; fi
exit 0
