#!/usr/bin/env bash
# Benchmark of the read path: the object reads clients poll, against a bare hyper server that does
# no work (examples/baseline.rs), at the same wrk settings, with 1,000 and with 1,000,000 streams
# (and as many keys) in the store.
#
#   lp get      GET /api/stream/{id}                      (Livepeer)
#   av get      GET /live-streams/{id}                    (api.video)
#   av list     GET /live-streams?pageSize=25&currentPage=40   (a 25-item page, far from the first)
#   lp list     GET /api/stream?limit=25                  (Livepeer, info)
#   me          GET /sg/v1/me                             (the verify path, for reference)
#
# Targets (relative to the baseline of the same round): lp get and av get >= 0.5 x throughput, the
# 25-item page >= 0.25 x; p99 <= 2 x the baseline's; the 1 M-stream figures within 10% of the 1 k
# ones. The cases are interleaved for BENCH_ROUNDS rounds and each ratio is the median of the
# per-round ratios (the machine is small and shared: see bench/verify.sh for why).
#
# Also reported: the server's RSS once 1 M keys and 1 M streams are cached (every seeded key
# presented once, every stream listed once), and requests per second per core of the server with
# it given one core and then two (`taskset`; on a 2-CPU machine wrk shares the second core, so the
# per-core figure divides by the server's own CPU time, not by wall time).
#
# Env: BENCH_DURATION (10s), BENCH_CONNECTIONS (32), BENCH_ROUNDS (3), BENCH_WARMUP (2s),
#      BENCH_BIG (1000000 streams and keys), BENCH_SKIP_BUILD (set: use target/release as it is).
# Exits 0 once the benchmark ran (it is a report); non-zero only if it could not run.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${BENCH_DURATION:-10s}"
CONNS="${BENCH_CONNECTIONS:-32}"
ROUNDS="${BENCH_ROUNDS:-3}"
WARMUP="${BENCH_WARMUP:-2s}"
BIG="${BENCH_BIG:-1000000}"
SMALL=1000

. "$(dirname "$0")/lib.sh"

# Reads are measured, not the rate limiter's refusals.
export STREAMGATE_RATE_LIMIT=1000000000
# Room for every seeded key and stream in the caches.
export STREAMGATE_CACHE_CAPACITY=$((BIG + BIG / 10 + 1000))

DB_URL="sqlite://$WORK/bench.db"
sg() { "$SG" --log warn --database-url "$DB_URL" "$@"; }
json_get() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

sg account create --name bench --number 00B1 --json >/dev/null
KEY=$(sg key create --account 00B1 --name bench --json | json_get key)
AUTH="Authorization: Bearer $KEY"

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# The ids of one stream in each dialect's shape, and a check that every case answers 200 with
# what it should, before any timing.
probe() { # ADDR
  python3 - "$1" "$KEY" <<'PY'
import json, sys, urllib.request
addr, key = sys.argv[1:]
def get(path):
    req = urllib.request.Request(f"http://{addr}{path}", headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, json.loads(r.read())
_, lp = get("/api/stream?limit=1")
_, av = get("/live-streams?pageSize=1")
lp_id, av_id = lp[0]["id"], av["data"][0]["liveStreamId"]
for path, check in (
    (f"/api/stream/{lp_id}", lambda v: v["id"] == lp_id and "streamKey" in v),
    (f"/live-streams/{av_id}", lambda v: v["liveStreamId"] == av_id),
    ("/live-streams?pageSize=25&currentPage=40", lambda v: len(v["data"]) == 25),
    ("/api/stream?limit=25", lambda v: len(v) == 25),
    ("/sg/v1/me", lambda v: "keyId" in v),
):
    status, v = get(path)
    if status != 200 or not check(v):
        sys.exit(f"probe {path}: unexpected {status} {str(v)[:200]}")
print(lp_id, av_id)
PY
}

# Presents every seeded key once (wrk runs of 20 s, each going on where the last stopped) and lists
# every stream once, so both caches hold them all. Prints how many streams were listed.
fill_caches() { # ADDR KEYS_FILE
  local total offset=0 out n
  total=$(wc -l <"$2")
  cat >"$WORK/keys.lua" <<'LUA'
local keys = {}
for line in io.lines(os.getenv("SG_BENCH_KEYS")) do keys[#keys + 1] = "Bearer " .. line end
local i = tonumber(os.getenv("SG_BENCH_OFFSET"))
request = function()
  i = i + 1
  if i > #keys then i = 1 end
  return wrk.format("GET", "/sg/v1/me", { ["Authorization"] = keys[i] })
end
LUA
  while [ "$offset" -lt "$total" ]; do
    out=$(SG_BENCH_KEYS="$2" SG_BENCH_OFFSET=$offset "${LOAD_PIN[@]}" wrk -t1 -c"$CONNS" -d20s -s "$WORK/keys.lua" "http://$1/")
    n=$(printf '%s\n' "$out" | awk '/requests in/ {print $1}')
    offset=$((offset + n))
  done
  python3 - "$1" "$KEY" <<'PY'
import json, sys, urllib.request
addr, key = sys.argv[1:]
cursor, n = None, 0
while True:
    url = f"http://{addr}/api/stream?limit=1000" + (f"&cursor={cursor}" if cursor else "")
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=120) as r:
        n += len(json.loads(r.read()))
        link = r.headers.get("Link")
    if not link:
        break
    cursor = link.split("cursor=")[1].split(">")[0]
print(n)
PY
}

metric() { # ADDR NAME
  python3 - "$1" "$2" <<'PY'
import sys, urllib.request
text = urllib.request.urlopen(f"http://{sys.argv[1]}/metrics", timeout=10).read().decode()
print(next((int(float(l.split()[-1])) for l in text.splitlines() if l.startswith(sys.argv[2] + " ")), -1))
PY
}

CASES=(base lpget avget avlist lplist me)

scenario() { # TAG LABEL KEYS_FILE
  local tag=$1 label=$2 keys_file=$3 ids lp_id av_id r i c n rss0 rss1
  local -a order
  check_quiet "before $label"
  start_server SG_ADDR "sg-$tag" "$SG" --log warn --database-url "$DB_URL" serve --listen 127.0.0.1:0
  start_server BASE_ADDR "base-$tag" "$BASE" 127.0.0.1:0
  log ""
  log "== $label: streamgate on $SG_ADDR (pid $SG_ADDR_PID), baseline on $BASE_ADDR (pid $BASE_ADDR_PID)"
  ids=$(probe "$SG_ADDR") || { log "streamgate does not answer as expected; aborting"; exit 1; }
  read -r lp_id av_id <<<"$ids"
  rss0=$(rss_kib "$SG_ADDR_PID")
  log "  filling the caches (every key presented once, every stream listed once)..."
  n=$(fill_caches "$SG_ADDR" "$keys_file")
  rss1=$(rss_kib "$SG_ADDR_PID")
  echo "$tag $rss0 $rss1 $n $(metric "$SG_ADDR" streamgate_key_cache_entries) $(metric "$SG_ADDR" streamgate_stream_cache_entries)" >>"$WORK/rss"
  "${LOAD_PIN[@]}" wrk -t1 -c"$CONNS" -d"$WARMUP" "http://$BASE_ADDR/" >/dev/null
  "${LOAD_PIN[@]}" wrk -t1 -c"$CONNS" -d"$WARMUP" -H "$AUTH" "http://$SG_ADDR/api/stream/$lp_id" >/dev/null
  for r in $(seq 1 "$ROUNDS"); do
    order=()
    for i in "${!CASES[@]}"; do order+=("${CASES[$(((i + r - 1) % ${#CASES[@]}))]}"); done
    for c in "${order[@]}"; do
      case $c in
        base) measure "$tag.base" "$BASE_ADDR_PID" "http://$BASE_ADDR/" ;;
        lpget) measure "$tag.lpget" "$SG_ADDR_PID" "http://$SG_ADDR/api/stream/$lp_id" -H "$AUTH" ;;
        avget) measure "$tag.avget" "$SG_ADDR_PID" "http://$SG_ADDR/live-streams/$av_id" -H "$AUTH" ;;
        avlist) measure "$tag.avlist" "$SG_ADDR_PID" "http://$SG_ADDR/live-streams?pageSize=25&currentPage=40" -H "$AUTH" ;;
        lplist) measure "$tag.lplist" "$SG_ADDR_PID" "http://$SG_ADDR/api/stream?limit=25" -H "$AUTH" ;;
        me) measure "$tag.me" "$SG_ADDR_PID" "http://$SG_ADDR/sg/v1/me" -H "$AUTH" ;;
      esac
    done
    log "  $label: round $r/$ROUNDS done"
  done
  check_quiet "after $label"
  stop_servers
}

# The server given one core, then two (wrk on core 0 either way): /sg/v1/me and lp get.
cores() { # TAG
  local tag=$1 pin lp_id av_id ids
  for pin in 1 0,1; do
    SERVER_PIN=(taskset -c "$pin")
    start_server SG_ADDR "sg-cores-$pin" "$SG" --log warn --database-url "$DB_URL" serve --listen 127.0.0.1:0
    ids=$(probe "$SG_ADDR")
    read -r lp_id av_id <<<"$ids"
    "${LOAD_PIN[@]}" wrk -t1 -c"$CONNS" -d"$WARMUP" -H "$AUTH" "http://$SG_ADDR/sg/v1/me" >/dev/null
    measure "$tag.cores$pin.me" "$SG_ADDR_PID" "http://$SG_ADDR/sg/v1/me" -H "$AUTH"
    measure "$tag.cores$pin.lpget" "$SG_ADDR_PID" "http://$SG_ADDR/api/stream/$lp_id" -H "$AUTH"
    stop_servers
  done
  SERVER_PIN=(taskset -c 1)
}

cat <<EOF
streamgate read-path benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ)
machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)
wrk: 1 thread, $CONNS connections, $DURATION per run, $WARMUP warm-up per server, $ROUNDS interleaved rounds
$PIN_NOTE
baseline: examples/baseline.rs, bare hyper 1 HTTP/1.1 keep-alive, answers every request 200 "ok"
streamgate: --log warn, SQLite store, cache_capacity $STREAMGATE_CACHE_CAPACITY
EOF

seed() { # STREAMS KEYS KEYS_FILE
  local t0
  t0=$(date +%s.%N)
  sg dev seed-streams --account 00B1 --count "$1" 2>/dev/null
  sg dev seed-keys --account 00B1 --count "$2" --secrets-file "$3" 2>/dev/null
  python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)"
}

log "seeding $SMALL streams and $((SMALL - 1)) keys..."
seed "$SMALL" $((SMALL - 1)) "$WORK/keys-small.txt" >/dev/null
scenario small "$SMALL streams" "$WORK/keys-small.txt"
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then cores small; fi

log ""
log "seeding $((BIG - SMALL)) more streams and keys..."
SEED_SECS=$(seed $((BIG - SMALL)) $((BIG - SMALL)) "$WORK/keys-big.txt")
cat "$WORK/keys-small.txt" >>"$WORK/keys-big.txt"
log "seeded in $SEED_SECS s"
scenario big "$BIG streams" "$WORK/keys-big.txt"

python3 - "$WORK/res" "$ROUNDS" "$CLK_TCK" "$SMALL" "$BIG" "$SEED_SECS" "$WORK/rss" <<'PY'
import os, statistics as st, sys

res, rounds, clk, small, big, seed_secs, rss_file = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], sys.argv[7]
NAMES = {
    "base": "baseline (bare hyper)",
    "lpget": "GET /api/stream/{id}",
    "avget": "GET /live-streams/{id}",
    "avlist": "25-item page (api.video)",
    "lplist": "25-item page (Livepeer)",
    "me": "/sg/v1/me (reference)",
}
TARGET = {"lpget": 0.5, "avget": 0.5, "avlist": 0.25}
med = st.median

def load(name):
    path = os.path.join(res, name)
    return [list(map(float, l.split())) for l in open(path)] if os.path.exists(path) else []

summary, rel = [], {}
for tag, label in (("small", f"{small:,} streams"), ("big", f"{big:,} streams")):
    base = load(f"{tag}.base")
    print(f"\n== {label} and keys in the store (medians of {len(base)} interleaved rounds; x = ratio to the baseline of the same round)")
    print(f"{'case':<27}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'cpu us/req':>11}{'srv':>6}{'x rps':>7}{'(min-max)':>12}{'x p99':>7}  verdict")
    rel[tag] = {}
    for case, name in NAMES.items():
        rows = load(f"{tag}.{case}")
        rps, p50, p99 = (med(r[i] for r in rows) for i in range(3))
        cpu_us = med(r[7] * 1e6 / clk / r[3] for r in rows if r[3] > 0)
        busy = med(100 * r[7] / clk / r[6] for r in rows)
        line = f"{name:<27}{rps:>9.0f}{p50:>9.3f}{p99:>9.3f}{cpu_us:>11.1f}{busy:>5.0f}%"
        notes = []
        if sum(r[5] for r in rows):
            notes.append(f"{sum(r[5] for r in rows):.0f} socket errors")
        if sum(r[4] for r in rows):
            notes.append(f"{sum(r[4] for r in rows):.0f} non-2xx responses")
        if case != "base":
            xr = [r[0] / b[0] for r, b in zip(rows, base)]
            x99 = med(r[2] / b[2] for r, b in zip(rows, base))
            x = med(xr)
            rel[tag][case] = (x, x99, rps, cpu_us)
            line += f"{x:>7.2f}{f'({min(xr):.2f}-{max(xr):.2f})':>12}{x99:>7.2f}"
            if case in TARGET:
                why = [w for w, bad in (("rps", x < TARGET[case]), ("p99", x99 > 2.0)) if bad]
                verdict = "PASS" if not why else "FAIL (" + ", ".join(why) + ")"
                summary.append((label, name, not why, verdict, f">= {TARGET[case]}x rps, p99 <= 2x"))
            else:
                verdict = "info"
            line += f"  {verdict}"
        if notes or (case != "base" and notes):
            line += "  [" + "; ".join(notes) + "]"
        print(line)

print(f"\n== {big:,} vs {small:,} streams (seeding {big - small:,} streams and keys took {seed_secs} s); target: within 10%")
print(f"{'case':<27}{'x rps':>8}{'x p99':>8}{'abs rps':>9}{'cpu/req':>9}  verdict   ({big:,} figure / {small:,} figure)")
for case in ("lpget", "avget", "avlist", "lplist", "me"):
    a, b = rel["small"][case], rel["big"][case]
    ratio = b[0] / a[0]
    ok = ratio >= 0.9
    if case in TARGET:
        summary.append((f"{big:,} vs {small:,}", NAMES[case], ok, "PASS" if ok else "FAIL (rps)", "1 M within 10% of 1 k"))
    print(f"{NAMES[case]:<27}{ratio:>8.2f}{b[1] / a[1]:>8.2f}{b[2] / a[2]:>9.2f}{b[3] / a[3]:>9.2f}  {'PASS' if ok else 'FAIL'}")

print("\n== memory (VmRSS of the server)")
for line in open(rss_file):
    tag, rss0, rss1, listed, keys, streams = line.split()
    print(f"{tag:<6} after start {int(rss0) / 1024:8.1f} MiB; with {int(keys):,} keys and {int(streams):,} streams cached ({int(listed):,} listed): {int(rss1) / 1024:8.1f} MiB")

print("\n== requests per second per core (server pinned to CPU 1, then CPUs 0-1; wrk on CPU 0 both times)")
print(f"{'case':<27}{'cores':>6}{'req/s':>9}{'srv cores busy':>16}{'req/s per busy core':>21}")
for case in ("me", "lpget"):
    for pin, n in (("1", 1), ("0,1", 2)):
        rows = load(f"small.cores{pin}.{case}")
        if not rows:
            continue
        r = rows[0]
        busy = r[7] / clk / r[6]
        print(f"{NAMES[case]:<27}{n:>6}{r[0]:>9.0f}{busy:>16.2f}{r[0] / busy:>21.0f}")

passed = sum(1 for s in summary if s[2])
print(f"\nSUMMARY: {passed}/{len(summary)} targets met")
for label, name, ok, verdict, target in summary:
    print(f"  {'ok  ' if ok else 'MISS'} {label}: {name}: {verdict} ({target})")
PY
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -s "$WORK/warnings" ]; then cat "$WORK/warnings"; fi
exit 0
