#!/usr/bin/env bash
# Benchmark of api.video-style tokens: issuance (`POST /auth/api-key`), refresh
# (`POST /auth/refresh`, every request spends a different refresh token), and an authenticated
# request (`GET /sg/v1/me`) with an access token (JWT, EdDSA) versus with HTTP Basic (the API key),
# each as a ratio to the bare-hyper baseline (examples/baseline.rs) in the same interleaved rounds.
#
# Issuance and refresh write to the store (a refresh token row; SQLite with synchronous=FULL, so
# one fsync each) and sign a JWT; they are expected to be far below the baseline and have no
# target: the figures show what a token costs. JWT vs Basic shows what verifying a signature
# costs over a cached key lookup.
#
# Env: BENCH_DURATION (5s), BENCH_CONNECTIONS (32), BENCH_ROUNDS (3), BENCH_WARMUP (2s),
#      BENCH_SKIP_BUILD (set: use the binaries already in target/release).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${BENCH_DURATION:-5s}"
CONNS="${BENCH_CONNECTIONS:-32}"
ROUNDS="${BENCH_ROUNDS:-3}"
WARMUP="${BENCH_WARMUP:-2s}"

. "$(dirname "$0")/lib.sh"

DB_URL="sqlite://$WORK/bench.db"
sg() { "$SG" --log warn --database-url "$DB_URL" "$@"; }
json_get() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
sg account create --name bench --number 00B1 --json >/dev/null
KEY=$(sg key create --account 00B1 --name bench --json | json_get key)
BASIC="Basic $(printf '%s:' "$KEY" | base64 -w0)"

# Issuance: POST the key; every response's refresh token is saved for the refresh case.
cat >"$WORK/issue.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"apiKey":"$KEY"}'
wrk.headers["Content-Type"] = "application/json"
local out = io.open(os.getenv("SG_BENCH_REFRESH_FILE"), "a")
response = function(status, headers, body)
  local t = body:match('"refresh_token":"([^"]+)"')
  if t then out:write(t, "\n") end
end
LUA
# Refresh: each request spends the next saved token (never one twice: a replay would revoke).
cat >"$WORK/refresh.lua" <<'LUA'
local tokens, i = {}, 0
for line in io.lines(os.getenv("SG_BENCH_REFRESH_FILE")) do tokens[#tokens + 1] = line end
request = function()
  i = i + 1
  local t = tokens[i] or "rt_exhausted"
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, '{"refreshToken":"' .. t .. '"}')
end
LUA
export SG_BENCH_REFRESH_FILE="$WORK/refresh-tokens.txt"

CASES=(base issue refresh jwt basic)

# High limits: the benchmark measures the server, not its rate limiter.
export STREAMGATE_RATE_LIMIT=1000000000
start_server SG_ADDR sg "$SG" --log warn --database-url "$DB_URL" serve --listen 127.0.0.1:0
start_server BASE_ADDR base "$BASE" 127.0.0.1:0
ACCESS=$(curl -fsS -XPOST "http://$SG_ADDR/auth/api-key" -H 'content-type: application/json' \
  -d "{\"apiKey\":\"$KEY\"}" | json_get access_token)
for auth in "Bearer $ACCESS" "$BASIC"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $auth" "http://$SG_ADDR/sg/v1/me")
  [ "$code" = 200 ] || { log "probe failed: $code for ${auth:0:12}…"; exit 1; }
done

cat <<INFO
streamgate token benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ)
machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)
wrk: 1 thread, $CONNS connections, $DURATION per run, $ROUNDS interleaved rounds; $PIN_NOTE
streamgate: --log warn, SQLite store (synchronous=FULL); baseline: bare hyper answering 200 "ok"
INFO
check_quiet "before the runs"
"${LOAD_PIN[@]}" wrk -t1 -c"$CONNS" -d"$WARMUP" "http://$BASE_ADDR/" >/dev/null
"${LOAD_PIN[@]}" wrk -t1 -c"$CONNS" -d"$WARMUP" -H "Authorization: $BASIC" "http://$SG_ADDR/sg/v1/me" >/dev/null
for r in $(seq 1 "$ROUNDS"); do
  order=()
  for i in "${!CASES[@]}"; do order+=("${CASES[$(((i + r - 1) % ${#CASES[@]}))]}"); done
  # Refresh needs tokens from an issuance run of this round: keep issue before refresh.
  order=(issue $(printf '%s\n' "${order[@]}" | grep -vx issue))
  : >"$SG_BENCH_REFRESH_FILE"
  for c in "${order[@]}"; do
    case $c in
      base) measure base "$BASE_ADDR_PID" "http://$BASE_ADDR/" ;;
      issue) measure issue "$SG_ADDR_PID" "http://$SG_ADDR/auth/api-key" -s "$WORK/issue.lua" ;;
      refresh)
        measure refresh "$SG_ADDR_PID" "http://$SG_ADDR/auth/refresh" -s "$WORK/refresh.lua"
        wc -l <"$SG_BENCH_REFRESH_FILE" >>"$WORK/res/refresh.available"
        ;;
      jwt) measure jwt "$SG_ADDR_PID" "http://$SG_ADDR/sg/v1/me" -H "Authorization: Bearer $ACCESS" ;;
      basic) measure basic "$SG_ADDR_PID" "http://$SG_ADDR/sg/v1/me" -H "Authorization: $BASIC" ;;
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
def load(case):
    return [list(map(float, l.split())) for l in open(os.path.join(res, case))]
NAMES = {
    "base": "baseline (bare hyper)",
    "issue": "POST /auth/api-key",
    "refresh": "POST /auth/refresh",
    "jwt": "GET /sg/v1/me, Bearer JWT",
    "basic": "GET /sg/v1/me, Basic key",
}
base = load("base")
print(f"\n{'case':<28}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'cpu us/req':>11}{'x rps':>8}{'x p50':>8}{'x p99':>8}  notes")
for case, name in NAMES.items():
    rows = load(case)
    rps, p50, p99 = (med(r[i] for r in rows) for i in range(3))
    cpu = med(r[7] * 1e6 / clk / r[3] for r in rows if r[3] > 0)
    line = f"{name:<28}{rps:>9.0f}{p50:>9.3f}{p99:>9.3f}{cpu:>11.1f}"
    if case != "base":
        line += f"{med(r[0] / b[0] for r, b in zip(rows, base)):>8.3f}"
        line += f"{med(r[1] / b[1] for r, b in zip(rows, base)):>8.2f}"
        line += f"{med(r[2] / b[2] for r, b in zip(rows, base)):>8.2f}"
    else:
        line += f"{'':>24}"
    notes = []
    non2xx = sum(r[4] for r in rows)
    if non2xx:
        notes.append(f"{non2xx:.0f} non-2xx")
    if case == "refresh":
        avail = sum(int(l) for l in open(os.path.join(res, "refresh.available")))
        notes.append(f"{sum(r[3] for r in rows):.0f} refreshes from {avail} issued tokens")
    print(line + ("  " + "; ".join(notes) if notes else ""))
jwt, basic = load("jwt"), load("basic")
print(f"\nJWT vs Basic: x rps {med(a[0] / b[0] for a, b in zip(jwt, basic)):.2f}, "
      f"x p99 {med(a[2] / b[2] for a, b in zip(jwt, basic)):.2f} (same rounds)")
PY
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -s "$WORK/warnings" ]; then cat "$WORK/warnings"; fi
exit 0
