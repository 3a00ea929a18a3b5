#!/usr/bin/env bash
# Benchmark of a delegated upload: a 200 MB file sent to `POST /upload?token=<upload token>` as
# api.video's clients send a file (multipart/form-data, one request: curl -F), against writing
# the same bytes with `cp` on the same disk (and `sync` of the copy, since the server makes its
# file durable before it answers). The server streams the body into object storage (the default:
# a directory under its data dir, on the same disk as the copy) and never holds the file in
# memory; its RSS is sampled every 20 ms during each upload.
#
# Before timing, the first upload is checked: it answers 201, and the file served back at the
# video's `assets.mp4` has the same SHA-256 as the one sent.
#
# Targets: upload throughput >= 0.5 x cp's (the median of BENCH_ROUNDS per-round ratios), and the
# server's peak RSS during the uploads < 100 MB.
#
# Env: BENCH_SIZE_MB (200), BENCH_ROUNDS (3), BENCH_SKIP_BUILD (set: use target/release as is).
# Exits 0 once the benchmark ran (it is a report); non-zero only if it could not run.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=1s
CONNS=1
SIZE_MB="${BENCH_SIZE_MB:-200}"
ROUNDS="${BENCH_ROUNDS:-3}"

. "$(dirname "$0")/lib.sh"

export STREAMGATE_RATE_LIMIT=1000000000
DB_URL="sqlite://$WORK/bench.db"
sg() { "$SG" --log warn --database-url "$DB_URL" --data-dir "$WORK/data" "$@"; }
json_get() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

sg account create --name bench --number 00B2 --json >/dev/null
KEY=$(sg key create --account 00B2 --name bench --json | json_get key)
start_server SG_ADDR sg "$SG" --log warn --database-url "$DB_URL" --data-dir "$WORK/data" serve --listen 127.0.0.1:0
SG_PID=$SG_ADDR_PID

TOKEN=$(curl -fsS -X POST "http://$SG_ADDR/upload-tokens" -H "Authorization: Bearer $KEY" \
  -H 'content-type: application/json' -d '{"ttl":3600}' | json_get token)

log "writing a ${SIZE_MB} MB file..."
head -c "$((SIZE_MB * 1024 * 1024))" /dev/urandom >"$WORK/src.mp4"
SRC_SHA=$(sha256sum "$WORK/src.mp4" | cut -d' ' -f1)

now() { date +%s.%N; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$SG_PID/status"; }

# Samples the server's RSS every 20 ms into $WORK/rss until the file $WORK/stop appears.
sample_rss() {
  rm -f "$WORK/stop"
  : >"$WORK/rss"
  while [ ! -e "$WORK/stop" ]; do rss_kb >>"$WORK/rss"; sleep 0.02; done
}

upload() { # → seconds; the answer in $WORK/answer.json
  sample_rss &
  local sampler=$! t0 t1 code
  t0=$(now)
  code=$(curl -sS -o "$WORK/answer.json" -w '%{http_code}' -F "file=@$WORK/src.mp4;filename=src.mp4" \
    "http://$SG_ADDR/upload?token=$TOKEN")
  t1=$(now)
  touch "$WORK/stop"; wait "$sampler"
  [ "$code" = 201 ] || { log "upload answered $code: $(head -c 300 "$WORK/answer.json")"; exit 1; }
  python3 -c "print($t1 - $t0)"
}

copy() { # → seconds
  rm -f "$WORK/copy.mp4"
  local t0 t1
  t0=$(now)
  cp "$WORK/src.mp4" "$WORK/copy.mp4"
  sync "$WORK/copy.mp4"
  t1=$(now)
  python3 -c "print($t1 - $t0)"
}

log "checking one upload..."
upload >/dev/null
MP4=$(json_get assets <"$WORK/answer.json" | python3 -c 'import ast, sys; print(ast.literal_eval(sys.stdin.read())["mp4"])')
GOT_SHA=$(curl -fsS "$MP4" | sha256sum | cut -d' ' -f1)
[ "$GOT_SHA" = "$SRC_SHA" ] || { log "the served file differs from the one uploaded"; exit 1; }
PEAK=0
check_quiet "before the rounds"
RATIOS=()
for r in $(seq 1 "$ROUNDS"); do
  c=$(copy)
  u=$(upload)
  p=$(sort -n "$WORK/rss" | tail -n 1)
  [ "${p:-0}" -gt "$PEAK" ] && PEAK=$p
  ratio=$(python3 -c "print(round($c / $u, 3))")
  RATIOS+=("$ratio")
  printf 'round %d: cp+sync %.2f s (%.0f MB/s), upload %.2f s (%.0f MB/s), ratio %s, peak RSS %d MB\n' \
    "$r" "$c" "$(python3 -c "print($SIZE_MB / $c)")" "$u" "$(python3 -c "print($SIZE_MB / $u)")" \
    "$ratio" "$((p / 1024))"
done
MEDIAN=$(printf '%s\n' "${RATIOS[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}')
echo
echo "upload of ${SIZE_MB} MB through POST /upload: ${MEDIAN} x cp (target >= 0.5), server peak RSS $((PEAK / 1024)) MB (target < 100)"
