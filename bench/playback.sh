#!/usr/bin/env bash
# Benchmark of the playback (read) decision nginx's `auth_request` asks for every HLS playlist and
# segment a viewer fetches: `GET /ingest/nginx/auth-request?token=<ingest token>` with the viewer's
# URI in `X-Original-URI` (and its address in `X-Real-IP`, as the documented nginx config sends),
# answered 200 with no body when allowed. Against a bare hyper server that does no work
# (examples/baseline.rs), at the same wrk settings:
#
#   jwt       /hls/<playbackId>/index.m3u8?jwt=<JWT>   Livepeer stream, playbackPolicy {"type":"jwt"}
#   private   /hls/<playbackId>/index.m3u8?token=<t>   api.video live stream, "public": false
#   public    /hls/<playbackId>/index.m3u8             Livepeer public stream, no credential (reference)
#   segment   /hls/<playbackId>/12.ts?jwt=<JWT>        the jwt stream's segment (what players fetch most)
#
# The JWT is ES256, signed the way Livepeer documents for Python: PyJWT
# (`jwt.encode(claims, base64.b64decode(privateKey), algorithm="ES256")`) with the privateKey of a
# signing key made by `POST /api/access-control/signing-key`, claims {sub: playbackId, action:
# pull, pub: publicKey, iat, exp: iat + 3600}. PyJWT and cryptography are pinned and installed
# into a venv at target/bench-tools/venv (once; a stamp holds the pins). The same JWT is sent on
# every request, as one viewer's player does: the server checks its signature once and keeps the
# result until it expires, so a read should cost little more than a few cache lookups.
#
# Before any timing every case is asked once and must answer 200 with an empty body, and a forged
# JWT (the right `pub`, signed by another key) 403, a missing JWT 401 and a wrong private token
# 403: the figures are of allowed reads, never of refusals.
#
# Targets (relative to the baseline's requests/s of the same round): jwt and private >= 0.5 x.
# public and segment are reported, with no target. The cases are interleaved for BENCH_ROUNDS
# rounds and each ratio is the median of the per-round ratios (the machine is small and shared:
# see bench/verify.sh for why, and for what the latency of a saturating closed loop means).
#
# Env: BENCH_DURATION (10s), BENCH_CONNECTIONS (32), BENCH_ROUNDS (3), BENCH_WARMUP (2s),
#      BENCH_SKIP_BUILD (set: use the binaries already in target/release).
# Exits 0 once the benchmark ran (it is a report); non-zero only if it could not run.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${BENCH_DURATION:-10s}"
CONNS="${BENCH_CONNECTIONS:-32}"
ROUNDS="${BENCH_ROUNDS:-3}"
WARMUP="${BENCH_WARMUP:-2s}"

# Tools, build, temp dir, server start/stop, CPU accounting, wrk parsing.
. "$(dirname "$0")/lib.sh"

# --- PyJWT, to sign as Livepeer's docs do ---------------------------------------------------------
TOOLS=target/bench-tools
PY_PINS="PyJWT==2.9.0 cryptography==43.0.3"
if [ ! -x "$TOOLS/venv/bin/python" ] || [ "$(cat "$TOOLS/venv.stamp" 2>/dev/null)" != "$PY_PINS" ]; then
  log "installing $PY_PINS into $TOOLS/venv..."
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || {
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq python3-venv >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null; }
  }
  mkdir -p "$TOOLS"
  rm -rf "$TOOLS/venv"
  python3 -m venv "$TOOLS/venv"
  # shellcheck disable=SC2086
  "$TOOLS/venv/bin/pip" install -q --disable-pip-version-check $PY_PINS
  echo "$PY_PINS" >"$TOOLS/venv.stamp"
fi
VPY="$PWD/$TOOLS/venv/bin/python"

# Allowed reads are measured, not the rate limiter's refusals.
export STREAMGATE_RATE_LIMIT=1000000000

# --- store, key, ingest token, server ----------------------------------------------------------
DB_URL="sqlite://$WORK/bench.db"
sg() { "$SG" --log warn --database-url "$DB_URL" "$@"; }
json_get() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

sg account create --name bench --number 00B1 --json >/dev/null
KEY=$(sg key create --account 00B1 --name bench --json | json_get key)
INGEST_TOKEN=$(sg ingest-token create --name bench --json | json_get token)
AUTH="Authorization: Bearer $KEY"

start_server SG_ADDR sg "$SG" --log warn --database-url "$DB_URL" serve --listen 127.0.0.1:0
start_server BASE_ADDR base "$BASE" 127.0.0.1:0
AUTH_URL="http://$SG_ADDR/ingest/nginx/auth-request?token=$INGEST_TOKEN"

api() { # METHOD PATH [JSON BODY]
  local args=(-fsS -X "$1" "http://$SG_ADDR$2" -H "$AUTH")
  [ $# -ge 3 ] && args+=(-H 'content-type: application/json' -d "$3")
  curl "${args[@]}" || { log "$1 $2 failed"; exit 1; }
}

# Streams: Livepeer jwt and public, api.video private; a signing key of the same account.
JWT_PB=$(api POST /api/stream '{"name":"b","playbackPolicy":{"type":"jwt"}}' | json_get playbackId)
PUBLIC_PB=$(api POST /api/stream '{"name":"o"}' | json_get playbackId)
read -r PRIVATE_PB PRIVATE_TOKEN < <(api POST /live-streams '{"name":"p","public":false}' | python3 -c '
import json, sys, urllib.parse
v = json.load(sys.stdin)
hls = v["assets"]["hls"]
u = urllib.parse.urlsplit(hls)
token = urllib.parse.parse_qs(u.query)["token"][0]
parts = u.path.split("/")
assert parts[-1] == "index.m3u8" and v["public"] is False, hls
print(parts[-2], token)')
[ -n "${PRIVATE_TOKEN:-}" ] || { log "no private playback id and token in the api.video answer"; exit 1; }
api POST /api/access-control/signing-key >"$WORK/signing-key.json"

# The valid JWT, and a forged one (the right `pub`, signed by a key the server never saw).
read -r JWT FORGED < <("$VPY" - "$WORK/signing-key.json" "$JWT_PB" <<'PY'
import base64, json, sys, time
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

key = json.load(open(sys.argv[1]))
now = int(time.time())
claims = {"sub": sys.argv[2], "action": "pull", "pub": key["publicKey"], "iat": now, "exp": now + 3600}
# Livepeer's documented recipe, verbatim.
token = jwt.encode(claims, base64.b64decode(key["privateKey"]), algorithm="ES256")
header = jwt.get_unverified_header(token)
assert header == {"alg": "ES256", "typ": "JWT"}, header
other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
print(token, jwt.encode(claims, other, algorithm="ES256"))
PY
)
[ -n "${FORGED:-}" ] || { log "could not sign the playback JWTs"; exit 1; }

# The viewer URI of each case; a wrk script per case that sends it as nginx would.
declare -A URI=(
  [jwt]="/hls/$JWT_PB/index.m3u8?jwt=$JWT"
  [private]="/hls/$PRIVATE_PB/index.m3u8?token=$PRIVATE_TOKEN"
  [public]="/hls/$PUBLIC_PB/index.m3u8"
  [segment]="/hls/$JWT_PB/12.ts?jwt=$JWT"
)
VIEWER_ADDR=203.0.113.7
for c in "${!URI[@]}"; do
  cat >"$WORK/$c.lua" <<LUA
wrk.headers["X-Original-URI"] = "${URI[$c]}"
wrk.headers["X-Real-IP"] = "$VIEWER_ADDR"
LUA
done

# Every case once by hand (and three refusals, from another address so as not to count against
# the measured one's throttle): the runs below must measure allowed reads.
python3 - "$AUTH_URL" "$VIEWER_ADDR" "${URI[jwt]}" "${URI[private]}" "${URI[public]}" "${URI[segment]}" \
  "/hls/$JWT_PB/index.m3u8?jwt=$FORGED" "/hls/$JWT_PB/index.m3u8" \
  "/hls/$PRIVATE_PB/index.m3u8?token=${PRIVATE_TOKEN:1}x" <<'PY' >&2 || { log "the auth-request endpoint does not answer as expected; aborting"; exit 1; }
import sys, urllib.error, urllib.request
url, addr, jwt, private, public, segment, forged, missing, wrong = sys.argv[1:]
def ask(uri, addr):
    req = urllib.request.Request(url, headers={"X-Original-URI": uri, "X-Real-IP": addr})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
ok = True
for name, uri, ip, want in (
    ("jwt", jwt, addr, 200),
    ("private", private, addr, 200),
    ("public", public, addr, 200),
    ("segment", segment, addr, 200),
    ("forged jwt", forged, "198.51.100.9", 403),
    ("no jwt", missing, "198.51.100.9", 401),
    ("wrong token", wrong, "198.51.100.9", 403),
):
    status, body = ask(uri, ip)
    good = status == want and body == b""
    ok &= good
    print(f"  probe {name:<12} -> {status} {len(body)} B (want {want}, empty) {'ok' if good else 'UNEXPECTED: ' + body[:160].decode(errors='replace')}")
sys.exit(0 if ok else 1)
PY

# --- run ----------------------------------------------------------------------------------------
cat <<EOF
streamgate playback-decision benchmark (nginx auth_request) — $(date -u +%Y-%m-%dT%H:%M:%SZ)
machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)
wrk: 1 thread, $CONNS connections, $DURATION per run, $WARMUP warm-up per server, $ROUNDS interleaved rounds
$PIN_NOTE
baseline: examples/baseline.rs, bare hyper 1 HTTP/1.1 keep-alive, answers every request 200 "ok"
streamgate: --log warn, SQLite store; GET /ingest/nginx/auth-request?token=<ingest token>, X-Original-URI + X-Real-IP
JWT: ES256 signed by PyJWT ($PY_PINS), ${#JWT} bytes; the same JWT on every request
EOF

check_quiet "before the runs"
# Warm-up (not measured): connection setup, caches (the JWT's signature check), CPU frequency.
"${LOAD_PIN[@]}" wrk -t1 -c"$CONNS" -d"$WARMUP" "http://$BASE_ADDR/" >/dev/null
"${LOAD_PIN[@]}" wrk -t1 -c"$CONNS" -d"$WARMUP" -s "$WORK/jwt.lua" "$AUTH_URL" >/dev/null
CASES=(base jwt private public segment)
for r in $(seq 1 "$ROUNDS"); do
  # Rotate the order each round so no case always runs first or last.
  for i in "${!CASES[@]}"; do
    c=${CASES[$(((i + r - 1) % ${#CASES[@]}))]}
    case $c in
      base) measure base "$BASE_ADDR_PID" "http://$BASE_ADDR/" ;;
      *) measure "$c" "$SG_ADDR_PID" "$AUTH_URL" -s "$WORK/$c.lua" ;;
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
NAMES = {
    "base": "baseline (bare hyper)",
    "jwt": "jwt     (playlist)",
    "private": "private (api.video token)",
    "public": "public  (no credential)",
    "segment": "segment (jwt, 12.ts)",
}
TARGET = {"jwt": 0.5, "private": 0.5}

def load(case):
    # rps p50 p99 requests non2xx errors seconds server_ticks wrk_ticks
    return [list(map(float, l.split())) for l in open(os.path.join(res, case))]

base = load("base")
print(f"\n== medians of {len(base)} interleaved rounds (x = ratio to the baseline of the same round)")
print(f"{'case':<27}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'cpu us/req':>11}{'srv':>6}{'wrk':>6}{'x rps':>7}{'(min-max)':>12}{'x p99':>7}  verdict")
fig, summary = {}, []
for case, name in NAMES.items():
    rows = load(case)
    rps, p50, p99 = (med(r[i] for r in rows) for i in range(3))
    cpu_us = med(r[7] * 1e6 / clk / r[3] for r in rows if r[3] > 0)
    busy = med(100 * r[7] / clk / r[6] for r in rows)
    wrk_busy = med(100 * r[8] / clk / r[6] for r in rows)
    fig[case] = (rps, p50, p99, cpu_us)
    line = f"{name:<27}{rps:>9.0f}{p50:>9.3f}{p99:>9.3f}{cpu_us:>11.1f}{busy:>5.0f}%{wrk_busy:>5.0f}%"
    notes = []
    errs, non2xx = sum(r[5] for r in rows), sum(r[4] for r in rows)
    if errs:
        notes.append(f"{errs:.0f} socket errors")
    if non2xx:
        notes.append(f"{non2xx:.0f} non-2xx responses: refusals were measured")
    if case != "base":
        xr = [r[0] / b[0] for r, b in zip(rows, base)]
        x = med(xr)
        x99 = med(r[2] / b[2] for r, b in zip(rows, base))
        line += f"{x:>7.2f}{f'({min(xr):.2f}-{max(xr):.2f})':>12}{x99:>7.2f}"
        if case in TARGET:
            ok = x >= TARGET[case] and not non2xx
            verdict = "PASS" if ok else ("MISS (non-2xx)" if non2xx else "MISS")
            summary.append((name, rps, p50, p99, x, f">= {TARGET[case]}x", ok, verdict))
        else:
            verdict = "info"
            summary.append((name, rps, p50, p99, x, "-", None, "info"))
        line += f"  {verdict}"
    if notes:
        line += "  [" + "; ".join(notes) + "]"
    print(line)

pub_cpu = fig["public"][3]
print("\n== where the time goes: server CPU per request beyond the public case (same endpoint, no credential)")
for case in ("jwt", "segment", "private"):
    print(f"  {NAMES[case]:<27} {fig[case][3] - pub_cpu:+7.1f} us/req   ({fig[case][0] / fig['public'][0]:.2f} x public's req/s)")
print(f"  {'public vs baseline':<27} {pub_cpu - fig['base'][3]:+7.1f} us/req   (ingest token, stream lookup, routing, ...)")

print("\nSUMMARY (medians; x = req/s relative to the baseline's in the same round)")
print(f"  {'case':<27}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'x rps':>8}{'target':>9}  result")
print(f"  {NAMES['base']:<27}{fig['base'][0]:>9.0f}{fig['base'][1]:>9.3f}{fig['base'][2]:>9.3f}")
for name, rps, p50, p99, x, target, ok, verdict in summary:
    print(f"  {name:<27}{rps:>9.0f}{p50:>9.3f}{p99:>9.3f}{x:>8.2f}{target:>9}  {verdict}")
met = [s for s in summary if s[6] is not None]
print(f"  {sum(1 for s in met if s[6])}/{len(met)} targets met")
PY
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -s "$WORK/warnings" ]; then cat "$WORK/warnings"; fi
exit 0
