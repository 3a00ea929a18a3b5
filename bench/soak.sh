#!/usr/bin/env bash
# Soak test: one streamgate under a mixed workload for a long time, watching its memory.
#
# The workload (a small Python client, SOAK_CLIENTS threads on keep-alive connections) mixes what
# production traffic does: key verification (`GET /sg/v1/me`, `POST /sg/v1/keys/verify`), object
# reads (`GET /api/stream/{id}`, api.video `GET /live-streams`, a viewer's HLS fetch as nginx's
# `auth_request` asks about it), writes (create, patch and delete
# Livepeer streams), ingest hooks (nginx-rtmp `on_publish` / `on_publish_done` with an ingest
# token) and api.video tokens (`POST /auth/api-key`, then `POST /auth/refresh`). It prints the
# throughput of every 10 s interval and the server's memory after the warm-up, every interval and
# at the end, and FAILS (exits 1) if its heap grew by more than allowed (below) by the end, if any
# request got a 5xx or no answer, or if the server died.
#
# What is watched is the server's anonymous memory (`RssAnon`: its heap, where a leak grows), not
# all of its RSS: the file-backed part (the binary's code as it is first run, about a third of the
# total for a debug build, and SQLite's shared-memory index) is reclaimable and bounded by the
# files' sizes. Its value after the warm-up and at the end are each the median of one sample a
# second over 10 s. The warm-up must outlast the server's filling caches: SQLite's page caches
# (2 MiB for each of the 9 connections) fill as the store grows, about 20 MiB over the first two
# minutes here. The heap grows in steps (the allocator, mimalloc, maps memory for its heaps in
# chunks: steps of about 4 MiB were seen on a 45 MiB heap), so growth fails the run only when it is
# over SOAK_MAX_GROWTH percent AND over SOAK_MIN_GROWTH_MIB: below that, one step of the
# allocator in a short run would read as a leak (it did: a 60 s CI run at +10.4%).
#
# Env: SOAK_SECONDS (1800: the measured run, after the warm-up; CI uses 60), SOAK_WARMUP (120),
#      SOAK_CLIENTS (4), SOAK_PROFILE (release; `debug` uses target/debug/streamgate, built by
#      `cargo test`, so CI need not build release), SOAK_MAX_GROWTH (10, percent),
#      SOAK_MIN_GROWTH_MIB (12: three of the allocator's steps), BENCH_SKIP_BUILD (set: use the
#      binary already built).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_RUN="${SOAK_SECONDS:-1800}"
WARMUP="${SOAK_WARMUP:-120}"
CLIENTS="${SOAK_CLIENTS:-4}"
PROFILE="${SOAK_PROFILE:-release}"
MAX_GROWTH="${SOAK_MAX_GROWTH:-10}"
MIN_GROWTH_MIB="${SOAK_MIN_GROWTH_MIB:-12}"

log() { printf '%s\n' "$*" >&2; }
command -v python3 >/dev/null || { log "python3 is required"; exit 1; }

case "$PROFILE" in
  release) build=(cargo build --release --locked --bin streamgate) ;;
  debug) build=(cargo build --locked --bin streamgate) ;;
  *) log "SOAK_PROFILE must be release or debug, not $PROFILE"; exit 2 ;;
esac
if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
  log "building ($PROFILE)..."
  "${build[@]}"
fi
SG="$PWD/target/$PROFILE/streamgate"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sg-soak.XXXXXX")
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export STREAMGATE_DATABASE_URL="sqlite://$WORK/soak.db"
export STREAMGATE_DATA_DIR="$WORK/data"
STREAMGATE_MASTER_KEY=$(head -c 32 /dev/urandom | base64 -w0)
export STREAMGATE_MASTER_KEY
# The soak measures the server, not its limits: one key sends everything.
export STREAMGATE_RATE_LIMIT=1000000000
export STREAMGATE_INGEST_MAX_FAILURES=1000000000
export STREAMGATE_LOG=warn
json_get() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
"$SG" account create --name soak --number 0050 --json >/dev/null
KEY=$("$SG" key create --account 0050 --name soak --json | json_get key)
INGEST=$("$SG" ingest-token create --name soak --json | json_get token)

"$SG" serve --listen 127.0.0.1:0 >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
ADDR=""
for _ in $(seq 1 300); do
  ADDR=$(grep -oE '127\.0\.0\.1:[0-9]+' "$WORK/server.out" "$WORK/server.err" | head -n 1 | cut -d: -f2- || true)
  [ -n "$ADDR" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$ADDR" ]; then
  log "streamgate did not start:"
  cat "$WORK/server.err" >&2
  exit 1
fi

cat <<INFO
streamgate soak — $(date -u +%Y-%m-%dT%H:%M:%SZ)
machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)
server: target/$PROFILE/streamgate, SQLite store, --log warn; client: $CLIENTS threads (Python, keep-alive)
run: ${WARMUP}s warm-up, then ${SECONDS_RUN}s measured; fails on heap growth over ${MAX_GROWTH}% and ${MIN_GROWTH_MIB} MiB, any 5xx or unanswered request
INFO

cat >"$WORK/soak.py" <<'PY'
import http.client, json, os, random, sys, threading, time

ADDR, KEY, INGEST = os.environ["SOAK_ADDR"], os.environ["SOAK_KEY"], os.environ["SOAK_INGEST"]
PID = int(os.environ["SOAK_PID"])
WARMUP, RUN = float(os.environ["SOAK_WARMUP"]), float(os.environ["SOAK_RUN"])
CLIENTS, MAX_GROWTH = int(os.environ["SOAK_CLIENTS"]), float(os.environ["SOAK_MAX_GROWTH"])
MIN_GROWTH_KIB = float(os.environ["SOAK_MIN_GROWTH_MIB"]) * 1024
host, port = ADDR.rsplit(":", 1)

lock = threading.Lock()
counts = {}        # operation -> requests in the current interval
total = {"requests": 0, "5xx": 0, "failed": 0}
problems = []
stop = threading.Event()

def rss_kib():
    """The server's (anonymous, all) resident memory in KiB."""
    got = {}
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            name = line.split(":", 1)[0]
            if name in ("RssAnon", "VmRSS"):
                got[name] = int(line.split()[1])
    if len(got) != 2:
        raise RuntimeError("no RssAnon or VmRSS")
    return got["RssAnon"], got["VmRSS"]

class Client:
    def __init__(self):
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)

    def call(self, op, method, path, body=None, headers=None, form=False):
        h = {"Authorization": f"Bearer {KEY}"}
        h.update(headers or {})
        data = None
        if body is not None:
            if form:
                data = "&".join(f"{k}={v}" for k, v in body.items())
                h["Content-Type"] = "application/x-www-form-urlencoded"
            else:
                data = json.dumps(body)
                h["Content-Type"] = "application/json"
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=data, headers=h)
                res = self.conn.getresponse()
                raw = res.read()
                break
            except (http.client.HTTPException, OSError) as e:
                self.conn.close()
                self.conn = http.client.HTTPConnection(host, int(port), timeout=30)
                if attempt == 1:
                    with lock:
                        total["failed"] += 1
                        problems.append(f"{op}: {method} {path}: no answer ({e})")
                    return None, None
        with lock:
            counts[op] = counts.get(op, 0) + 1
            total["requests"] += 1
            if res.status >= 500:
                total["5xx"] += 1
                problems.append(f"{op}: {method} {path}: {res.status} {raw[:200]!r}")
        return res.status, raw

def expect(op, got, *ok):
    status, raw = got
    if status is not None and status not in ok:
        with lock:
            problems.append(f"{op}: unexpected {status} {raw[:200]!r}")
    return raw

def worker(n):
    c = Client()
    # Each worker's own stream, for reads and publishes (a stream has one publisher at a time).
    mine = json.loads(expect("fixture", c.call("fixture", "POST", "/api/stream", {"name": f"soak-{n}"}), 201))
    sid, skey, pid = mine["id"], mine["streamKey"], mine["playbackId"]
    refresh = None
    i = 0
    while not stop.is_set():
        i += 1
        expect("verify", c.call("verify", "GET", "/sg/v1/me"), 200)
        expect("verify", c.call("verify", "POST", "/sg/v1/keys/verify", {"key": KEY}), 200)
        expect("read", c.call("read", "GET", f"/api/stream/{sid}"), 200)
        expect("read", c.call("read", "GET", "/live-streams?pageSize=10"), 200)
        # A viewer's HLS fetch, as nginx's auth_request asks about it (a public stream).
        expect("read", c.call("read", "GET", f"/ingest/nginx/auth-request?token={INGEST}", headers={"X-Original-URI": f"/hls/{pid}/{i % 50}.ts"}), 200)
        if i % 2 == 0:
            raw = expect("write", c.call("write", "POST", "/api/stream", {"name": f"w{n}-{i}"}), 201)
            if raw:
                wid = json.loads(raw)["id"]
                expect("write", c.call("write", "PATCH", f"/api/stream/{wid}", {"name": f"w{n}-{i}b", "record": True}), 204)
                expect("write", c.call("write", "DELETE", f"/api/stream/{wid}"), 204)
        if i % 2 == 1:
            form = {"app": "live", "name": skey, "call": "publish", "addr": "127.0.0.1", "type": "live"}
            # Allowed: 302 to the stream's playback id (nginx-rtmp renames the publish to it).
            expect("ingest", c.call("ingest", "POST", f"/ingest/nginx-rtmp/publish?token={INGEST}", form, form=True), 302)
            form["call"] = "publish_done"
            expect("ingest", c.call("ingest", "POST", f"/ingest/nginx-rtmp/publish-done?token={INGEST}", form, form=True), 200)
        if i % 4 == 0:
            if refresh is None:
                raw = expect("token", c.call("token", "POST", "/auth/api-key", {"apiKey": KEY}, {"Authorization": ""}), 200)
            else:
                raw = expect("token", c.call("token", "POST", "/auth/refresh", {"refreshToken": refresh}, {"Authorization": ""}), 200)
            refresh = json.loads(raw)["refresh_token"] if raw else None

def report(label, elapsed, interval_counts, seconds, rss):
    n = sum(interval_counts.values())
    by_op = " ".join(f"{k}={v / seconds:.0f}" for k, v in sorted(interval_counts.items()))
    print(f"{label:>8} {elapsed:7.0f}s  {n / seconds:8.1f} req/s  ({by_op})  "
          f"heap {rss[0] / 1024:.1f} MiB, rss {rss[1] / 1024:.1f} MiB", flush=True)

threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(CLIENTS)]
for t in threads:
    t.start()
start = time.monotonic()
samples = []  # the server's (heap, rss) once a second: start and end are medians of 10 s of them

def settle(seconds):
    """Sleeps `seconds`, sampling the RSS once a second; False if the server died."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(min(1.0, max(0.0, end - time.monotonic())))
        try:
            samples.append(rss_kib())
        except (OSError, RuntimeError):
            problems.append("the server died")
            return False
    return True

def median_of_last(n, which=0):
    last = sorted(s[which] for s in samples[-n:])
    return last[len(last) // 2] if last else 0

alive = settle(WARMUP)
with lock:
    counts.clear()
rss0, all0 = median_of_last(10), median_of_last(10, 1)
peak = rss0
print(f"after the {WARMUP:.0f}s warm-up: heap {rss0 / 1024:.1f} MiB, rss {all0 / 1024:.1f} MiB "
      "(medians of its last 10 s)", flush=True)
t0 = time.monotonic()
last = t0
while alive and time.monotonic() < t0 + RUN:
    alive = settle(min(10.0, t0 + RUN - time.monotonic()))
    now = time.monotonic()
    with lock:
        snap = dict(counts)
        counts.clear()
    if samples:
        peak = max(peak, samples[-1][0])
        report("interval", now - t0, snap, now - last, samples[-1])
    last = now
rss1 = median_of_last(10) if alive else None
all1 = median_of_last(10, 1) if alive else 0
stop.set()
for t in threads:
    t.join(timeout=35)
growth = (rss1 - rss0) * 100.0 / rss0 if rss1 and rss0 else float("inf")
grown_kib = (rss1 - rss0) if rss1 and rss0 else float("inf")
print(f"end: {total['requests']} requests ({total['requests'] / (time.monotonic() - start):.1f}/s over the whole run), "
      f"{total['5xx']} 5xx, {total['failed']} unanswered; heap after warm-up {rss0 / 1024:.1f} MiB, "
      f"peak {peak / 1024:.1f} MiB, at the end {(rss1 or 0) / 1024:.1f} MiB (median of the last 10 s; "
      f"{growth:+.1f}%, {grown_kib / 1024:+.1f} MiB); rss {all0 / 1024:.1f} MiB -> {all1 / 1024:.1f} MiB", flush=True)
failed = False
if growth > MAX_GROWTH and grown_kib > MIN_GROWTH_KIB:
    print(f"FAIL: the heap grew {growth:.1f}% ({grown_kib / 1024:.1f} MiB) after the warm-up "
          f"(limit {MAX_GROWTH:.0f}% and {MIN_GROWTH_KIB / 1024:.0f} MiB)")
    failed = True
if total["5xx"] or total["failed"]:
    print(f"FAIL: {total['5xx']} 5xx and {total['failed']} unanswered requests")
    failed = True
if problems:
    print("problems (first 20):")
    for p in problems[:20]:
        print("  " + p)
    failed = failed or any("unexpected" in p or "died" in p for p in problems)
    if any("unexpected" in p for p in problems):
        print("FAIL: requests were answered otherwise than the workload expects")
print("soak: FAIL" if failed else "soak: ok")
sys.exit(1 if failed else 0)
PY

SOAK_ADDR="$ADDR" SOAK_KEY="$KEY" SOAK_INGEST="$INGEST" SOAK_PID="$SERVER_PID" \
  SOAK_WARMUP="$WARMUP" SOAK_RUN="$SECONDS_RUN" SOAK_CLIENTS="$CLIENTS" SOAK_MAX_GROWTH="$MAX_GROWTH" SOAK_MIN_GROWTH_MIB="$MIN_GROWTH_MIB" \
  python3 "$WORK/soak.py" && status=0 || status=$?
if grep -q "panicked" "$WORK/server.err"; then
  log "the server panicked:"
  grep -A3 "panicked" "$WORK/server.err" >&2
  status=1
fi
exit "$status"
