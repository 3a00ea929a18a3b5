#!/usr/bin/env bash
# Benchmark of the verify path: `GET /sg/v1/me` with a valid key, with an unknown (well-formed, not
# in the store) key and with a malformed key, against a bare hyper server that does no work
# (examples/baseline.rs), at the same wrk settings, with 1,000 and with 1,000,000 keys in the store.
#
# Targets (per streamgate case, relative to the baseline of the same round):
#   throughput >= 0.9 x baseline, p50 and p99 latency <= 1.5 x baseline's; 1 M keys ~ 1 k keys.
#
# The machine is small and shared, so absolute figures drift from minute to minute. To keep the
# ratios honest the cases are interleaved (baseline, valid, unknown, ...) for BENCH_ROUNDS rounds and
# each ratio is the median of the per-round ratios. The server's CPU time per request (from
# /proc/PID/stat) is printed too: it is the least noisy measure of what a request costs. "srv" and
# "wrk" are how busy the server's and wrk's cores were: at ~100% srv the server is the bottleneck,
# at ~100% wrk the load generator is (and the figures understate the server).
#
# Latency is measured twice. The saturating runs above drive each server as fast as wrk can, so
# their latency is mostly queueing: with 32 connections in a closed loop, whichever of the server
# and wrk is the slower decides the shape of the distribution (a server that is the bottleneck
# answers every request after the other 31, p50 = 32 x its cost; a faster one than wrk leaves
# requests waiting in wrk instead, spread out). The "paced" runs use the same 32 connections, each
# sending one request per millisecond (wrk's delay()), far below either server's capacity, so
# their p50/p99 ratio is the latency the server itself adds to a request. A calibration case,
# "baseline + work", is the same bare hyper server busy-waiting BENCH_WORK_NS (500) per request:
# it shows what the saturated p50 of any server that does a little work looks like.
#
# An extra, informational case ("cold miss") sends a different well-formed unknown key on every
# request, so every request misses the cache and reads the store: the one path where the number of
# keys in the store can matter. It has no target.
#
# Env: BENCH_DURATION (10s), BENCH_CONNECTIONS (32), BENCH_ROUNDS (3), BENCH_WARMUP (2s),
#      BENCH_BIG_KEYS (1000000), BENCH_SKIP_BUILD (set: use the binaries already in target/release).
# Always exits 0 once the benchmark ran (it is a report); non-zero only if it could not run.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${BENCH_DURATION:-10s}"
CONNS="${BENCH_CONNECTIONS:-32}"
ROUNDS="${BENCH_ROUNDS:-3}"
WARMUP="${BENCH_WARMUP:-2s}"
BIG="${BENCH_BIG_KEYS:-1000000}"
SMALL=1000
COLD_KEYS=300000 # distinct unknown keys for the cold-miss case (repeats come > 5 s apart: no cache)

# Tools, build, temp dir, server start/stop, CPU accounting, wrk parsing: shared with token.sh.
. "$(dirname "$0")/lib.sh"

# The verify path is measured, not the rate limiter's refusals: keys get a limit far above what
# wrk can send (the default, 1200 a minute, would answer most requests 429).
export STREAMGATE_RATE_LIMIT=1000000000

# --- store, keys --------------------------------------------------------------------------------
DB_URL="sqlite://$WORK/bench.db"
sg() { "$SG" --log warn --database-url "$DB_URL" "$@"; }
json_get() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

sg account create --name bench --number 00B1 --json >/dev/null
VALID_KEY=$(sg key create --account 00B1 --name bench --json | json_get key)
# A well-formed key (valid checksum) that this store has never seen: made in a throwaway store.
OTHER_URL="sqlite://$WORK/throwaway.db"
"$SG" --log warn --database-url "$OTHER_URL" account create --name throwaway --number 0001 --json >/dev/null
UNKNOWN_KEY=$("$SG" --log warn --database-url "$OTHER_URL" key create --account 0001 --name x --json | json_get key)
# Right shape, wrong checksum: refused before any hashing or lookup.
MALFORMED_KEY="sg_production_$(printf 'A%.0s' $(seq 1 36))"

# Distinct well-formed unknown keys for the cold-miss case (same format and CRC32 checksum as the
# server's), and a wrk script that sends the next one on every request.
python3 - "$WORK/cold-keys.txt" "$COLD_KEYS" <<'PY'
import random, sys, zlib
B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
rng = random.Random(7)
with open(sys.argv[1], "w") as f:
    for _ in range(int(sys.argv[2])):
        body = "sg_production_" + "".join(rng.choices(B62, k=30))
        n, check = zlib.crc32(body.encode()), ""
        for _ in range(6):
            check = B62[n % 62] + check
            n //= 62
        f.write(body + check + "\n")
PY
cat >"$WORK/paced.lua" <<'LUA'
function delay() return 1 end
LUA
PACED=(-d"${BENCH_PACED_DURATION:-5s}" -s "$WORK/paced.lua")
cat >"$WORK/cold.lua" <<'LUA'
local keys = {}
for line in io.lines(os.getenv("SG_BENCH_COLD_KEYS")) do keys[#keys + 1] = "Bearer " .. line end
local i = 0
request = function()
  i = i + 1
  if i > #keys then i = 1 end
  return wrk.format("GET", nil, { ["Authorization"] = keys[i] })
end
LUA
export SG_BENCH_COLD_KEYS="$WORK/cold-keys.txt"

# Checks by hand that each case answers what it should before timing it.
probe() { # ADDR
  python3 - "$1" "$VALID_KEY" "$UNKNOWN_KEY" "$MALFORMED_KEY" "$(head -n 1 "$SG_BENCH_COLD_KEYS")" <<'PY'
import sys, urllib.error, urllib.request
addr, valid, unknown, malformed, cold = sys.argv[1:]
def get(key):
    req = urllib.request.Request(f"http://{addr}/sg/v1/me", headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
ok = True
for name, key, want_status, want_text in (
    ("valid", valid, 200, '"keyId"'),
    ("unknown", unknown, 401, "invalid API key"),
    ("malformed", malformed, 401, "malformed"),
    ("cold miss", cold, 401, "invalid API key"),
):
    status, body = get(key)
    good = status == want_status and want_text in body
    ok &= good
    print(f"  probe {name:<10} -> {status} {len(body):>4} B {'ok' if good else 'UNEXPECTED: ' + body[:160]}")
sys.exit(0 if ok else 1)
PY
}

store_lookups() { # ADDR → the verifier's store-lookup counter from /metrics
  python3 - "$1" <<'PY'
import sys, urllib.request
text = urllib.request.urlopen(f"http://{sys.argv[1]}/metrics", timeout=5).read().decode()
print(next((int(float(l.split()[-1])) for l in text.splitlines()
            if l.startswith("streamgate_key_store_lookups")), -1))
PY
}

CASES=(base valid unknown malformed cold work pbase pvalid punknown pmalformed)
WORK_NS="${BENCH_WORK_NS:-500}"

scenario() { # TAG LABEL
  local tag=$1 label=$2 sg_addr base_addr r i c before after
  local -a order
  check_quiet "before $label"
  start_server SG_ADDR "sg-$tag" "$SG" --log warn --database-url "$DB_URL" serve --listen 127.0.0.1:0
  start_server BASE_ADDR "base-$tag" "$BASE" 127.0.0.1:0
  BASELINE_WORK_NS=$WORK_NS start_server WORK_ADDR "work-$tag" "$BASE" 127.0.0.1:0
  sg_addr=$SG_ADDR
  base_addr=$BASE_ADDR
  log ""
  log "== $label: streamgate on $sg_addr (pid $SG_ADDR_PID), baseline on $base_addr (pid $BASE_ADDR_PID)"
  probe "$sg_addr" >&2 || { log "streamgate does not answer as expected; aborting"; exit 1; }
  # Warm-up (not measured): connection setup, caches, CPU frequency.
  "${LOAD_PIN[@]}" wrk -t1 -c"$CONNS" -d"$WARMUP" "http://$base_addr/" >/dev/null
  "${LOAD_PIN[@]}" wrk -t1 -c"$CONNS" -d"$WARMUP" -H "Authorization: Bearer $VALID_KEY" "http://$sg_addr/sg/v1/me" >/dev/null
  for r in $(seq 1 "$ROUNDS"); do
    # Rotate the order each round so no case always runs first or last.
    order=()
    for i in "${!CASES[@]}"; do order+=("${CASES[$(((i + r - 1) % ${#CASES[@]}))]}"); done
    for c in "${order[@]}"; do
      case $c in
        base) measure "$tag.base" "$BASE_ADDR_PID" "http://$base_addr/" ;;
        valid) measure "$tag.valid" "$SG_ADDR_PID" "http://$sg_addr/sg/v1/me" -H "Authorization: Bearer $VALID_KEY" ;;
        unknown) measure "$tag.unknown" "$SG_ADDR_PID" "http://$sg_addr/sg/v1/me" -H "Authorization: Bearer $UNKNOWN_KEY" ;;
        malformed) measure "$tag.malformed" "$SG_ADDR_PID" "http://$sg_addr/sg/v1/me" -H "Authorization: Bearer $MALFORMED_KEY" ;;
        work) measure "$tag.work" "$WORK_ADDR_PID" "http://$WORK_ADDR/" ;;
        pbase) measure "$tag.pbase" "$BASE_ADDR_PID" "http://$base_addr/" "${PACED[@]}" ;;
        pvalid) measure "$tag.pvalid" "$SG_ADDR_PID" "http://$sg_addr/sg/v1/me" "${PACED[@]}" -H "Authorization: Bearer $VALID_KEY" ;;
        punknown) measure "$tag.punknown" "$SG_ADDR_PID" "http://$sg_addr/sg/v1/me" "${PACED[@]}" -H "Authorization: Bearer $UNKNOWN_KEY" ;;
        pmalformed) measure "$tag.pmalformed" "$SG_ADDR_PID" "http://$sg_addr/sg/v1/me" "${PACED[@]}" -H "Authorization: Bearer $MALFORMED_KEY" ;;
        cold)
          before=$(store_lookups "$sg_addr")
          measure "$tag.cold" "$SG_ADDR_PID" "http://$sg_addr/sg/v1/me" -s "$WORK/cold.lua"
          after=$(store_lookups "$sg_addr")
          echo "$((after - before))" >>"$WORK/res/$tag.cold.lookups"
          ;;
      esac
    done
    log "  $label: round $r/$ROUNDS done"
  done
  log "  store lookups by streamgate over the whole scenario: $(store_lookups "$sg_addr")"
  check_quiet "after $label"
  stop_servers
}

# --- run ----------------------------------------------------------------------------------------
cat <<EOF
streamgate verify-path benchmark — $(date -u +%Y-%m-%dT%H:%M:%SZ)
machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)
wrk: 1 thread, $CONNS connections, $DURATION per run, $WARMUP warm-up per server, $ROUNDS interleaved rounds
$PIN_NOTE
baseline: examples/baseline.rs, bare hyper 1 HTTP/1.1 keep-alive, answers every request 200 "ok"
streamgate: --log warn, SQLite store
EOF

log "seeding $((SMALL - 1)) keys..."
sg dev seed-keys --account 00B1 --count $((SMALL - 1)) 2>/dev/null
scenario small "$SMALL keys"

log ""
log "seeding $((BIG - SMALL)) more keys..."
seed_start=$(date +%s.%N)
sg dev seed-keys --account 00B1 --count $((BIG - SMALL)) 2>"$WORK/seed.err"
SEED_SECS=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$seed_start" "$(date +%s.%N)")
log "seeded in $SEED_SECS s"
scenario big "$BIG keys"

python3 - "$WORK/res" "$ROUNDS" "$CLK_TCK" "$SMALL" "$BIG" "$SEED_SECS" <<'PY'
import os, statistics as st, sys

res, rounds, clk, small, big, seed_secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
NAMES = {
    "base": "baseline (bare hyper)",
    "valid": "/sg/v1/me valid key",
    "unknown": "/sg/v1/me unknown key",
    "malformed": "/sg/v1/me malformed key",
    "cold": "unknown, cold miss (info)",
    "work": "baseline + work (calib.)",
}
TARGETED = ("valid", "unknown", "malformed")
med = st.median

def load(tag, case):
    # rps p50 p99 requests non2xx errors seconds server_ticks wrk_ticks
    return [list(map(float, l.split())) for l in open(os.path.join(res, f"{tag}.{case}"))]

summary, paced, rel = [], [], {}
for tag, label in (("small", f"{small:,} keys"), ("big", f"{big:,} keys")):
    base = load(tag, "base")
    print(f"\n== {label} in the store (medians of {len(base)} interleaved rounds; x = ratio to the baseline of the same round)")
    print(f"{'case':<27}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'cpu us/req':>11}{'srv':>6}{'wrk':>6}{'x rps':>7}{'(min-max)':>12}{'x p50':>7}{'x p99':>7}  verdict")
    rel[tag] = {}
    for case in NAMES:
        rows = load(tag, case)
        rps, p50, p99 = (med(r[i] for r in rows) for i in range(3))
        cpu_us = med(r[7] * 1e6 / clk / r[3] for r in rows if r[3] > 0)
        busy = med(100 * r[7] / clk / r[6] for r in rows)
        wrk_busy = med(100 * r[8] / clk / r[6] for r in rows)
        line = f"{NAMES[case]:<27}{rps:>9.0f}{p50:>9.3f}{p99:>9.3f}{cpu_us:>11.1f}{busy:>5.0f}%{wrk_busy:>5.0f}%"
        notes = []
        errs = sum(r[5] for r in rows)
        if errs:
            notes.append(f"{errs:.0f} socket errors")
        non2xx, total = sum(r[4] for r in rows), sum(r[3] for r in rows)
        if case in ("base", "valid") and non2xx:
            notes.append(f"{non2xx:.0f} non-2xx responses")
        if case in ("unknown", "malformed", "cold") and non2xx != total:
            notes.append(f"{total - non2xx:.0f} responses were not 401")
        if case == "cold":
            lookups = [int(l) for l in open(os.path.join(res, f"{tag}.cold.lookups"))]
            notes.append(f"store lookups/request {sum(lookups) / total:.2f}")
        if case != "base":
            xr = [r[0] / b[0] for r, b in zip(rows, base)]
            x50 = med(r[1] / b[1] for r, b in zip(rows, base))
            x99 = med(r[2] / b[2] for r, b in zip(rows, base))
            x = med(xr)
            rel[tag][case] = (x, x50, x99, rps, cpu_us)
            line += f"{x:>7.2f}{f'({min(xr):.2f}-{max(xr):.2f})':>12}{x50:>7.2f}{x99:>7.2f}"
            if case in TARGETED:
                ok = x >= 0.9 and x50 <= 1.5 and x99 <= 1.5
                why = [w for w, bad in (("rps", x < 0.9), ("p50", x50 > 1.5), ("p99", x99 > 1.5)) if bad]
                verdict = "PASS" if ok else "FAIL (" + ", ".join(why) + ")"
                summary.append((label, NAMES[case], ok, verdict))
            else:
                verdict = "info"
            line += f"  {verdict}"
        else:
            rel[tag][case] = (1.0, 1.0, 1.0, rps, cpu_us)
        if notes:
            line += "  [" + "; ".join(notes) + "]"
        print(line)

    pbase = load(tag, "pbase")
    print(f"-- paced: the same connections, each sending one request per ms (no queueing; latency the server adds)")
    print(f"{'case':<27}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'x p50':>7}{'x p99':>7}  verdict")
    print(f"{NAMES['base']:<27}{med(r[0] for r in pbase):>9.0f}{med(r[1] for r in pbase):>9.3f}{med(r[2] for r in pbase):>9.3f}")
    for case in TARGETED:
        rows = load(tag, "p" + case)
        x50 = med(r[1] / b[1] for r, b in zip(rows, pbase))
        x99 = med(r[2] / b[2] for r, b in zip(rows, pbase))
        ok = x50 <= 1.5 and x99 <= 1.5
        why = [w for w, bad in (("p50", x50 > 1.5), ("p99", x99 > 1.5)) if bad]
        verdict = "PASS" if ok else "FAIL (" + ", ".join(why) + ")"
        paced.append((label, NAMES[case], ok, verdict))
        print(f"{NAMES[case]:<27}{med(r[0] for r in rows):>9.0f}{med(r[1] for r in rows):>9.3f}{med(r[2] for r in rows):>9.3f}{x50:>7.2f}{x99:>7.2f}  {verdict}")

print(f"\n== {big:,} vs {small:,} keys (seeding {big - small:,} keys took {seed_secs} s)")
print(f"{'case':<27}{'x rps':>8}{'x p50':>8}{'x p99':>8}{'abs rps':>9}{'cpu/req':>9}   ({big:,}-key figure / {small:,}-key figure; x = baseline-relative)")
for case in ("valid", "unknown", "malformed", "cold"):
    a, b = rel["small"][case], rel["big"][case]
    print(f"{NAMES[case]:<27}{b[0] / a[0]:>8.2f}{b[1] / a[1]:>8.2f}{b[2] / a[2]:>8.2f}{b[3] / a[3]:>9.2f}{b[4] / a[4]:>9.2f}")

passed = sum(1 for s in summary if s[2])
print(f"\nSUMMARY: {passed}/{len(summary)} targeted cases meet the targets at saturation (rps >= 0.9x, p50 and p99 <= 1.5x baseline)")
for label, name, ok, verdict in summary:
    if not ok:
        print(f"  {label}: {name}: {verdict}")
passed = sum(1 for s in paced if s[2])
print(f"         {passed}/{len(paced)} targeted cases meet the latency targets when paced (p50 and p99 <= 1.5x baseline)")
for label, name, ok, verdict in paced:
    if not ok:
        print(f"  {label}: {name}: {verdict}")
PY
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -s "$WORK/warnings" ]; then cat "$WORK/warnings"; fi
exit 0
