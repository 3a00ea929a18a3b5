# Shared by the benchmark scripts: tools, release build, a temp dir with cleanup, CPU pinning,
# starting servers, CPU accounting and one measured wrk run. Sourced, not run. Expects DURATION
# and CONNS to be set; sets SG, BASE, WORK, PIDS, SERVER_PIN, LOAD_PIN, PIN_NOTE.
log() { printf '%s\n' "$*" >&2; }

# --- tools --------------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
  log "installing wrk..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi
command -v python3 >/dev/null || { log "python3 is required"; exit 1; }

if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
  log "building release binaries..."
  cargo build --release --locked --bin streamgate --example baseline
fi
SG="$PWD/target/release/streamgate"
BASE="$PWD/target/release/examples/baseline"

# --- temp dir, servers, cleanup -----------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sg-bench.XXXXXX")
PIDS=()
stop_servers() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
cleanup() {
  stop_servers
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Two cores: the server under test gets core 1, wrk (one thread) core 0. Pinned to one core, tokio's
# multi-thread runtime starts one worker (it honours the affinity mask), for both servers alike.
if command -v taskset >/dev/null 2>&1 && [ "$(nproc)" -ge 2 ]; then
  SERVER_PIN=(taskset -c 1)
  LOAD_PIN=(taskset -c 0)
  PIN_NOTE="server under test pinned to CPU 1, wrk to CPU 0 (taskset)"
else
  SERVER_PIN=()
  LOAD_PIN=()
  PIN_NOTE="no CPU pinning (taskset missing or a single CPU): server and wrk share the CPUs"
fi
CLK_TCK=$(getconf CLK_TCK)

# Starts a server in the background (not in a subshell, so its pid is recorded for the cleanup)
# and stores the host:port it prints (first 127.0.0.1:PORT on stdout) in the variable named VAR.
start_server() { # VAR NAME CMD...
  local var=$1 name=$2 pid addr=""
  shift 2
  "${SERVER_PIN[@]}" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 300); do
    addr=$(grep -oE '127\.0\.0\.1:[0-9]+' "$WORK/$name.out" | head -n 1 || true)
    [ -n "$addr" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$addr" ]; then
    log "$name did not start:"
    cat "$WORK/$name.err" >&2
    exit 1
  fi
  printf -v "$var" '%s' "$addr"
  printf -v "${var}_PID" '%s' "$pid"
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }       # utime + stime of a process
children_ticks() { awk '{print $16 + $17}' "/proc/$$/stat"; } # cutime + cstime of this shell

# Notes other load generators or compilers running at the same time: they distort every figure.
check_quiet() { # WHEN
  local others
  others=$(pgrep -a -x 'wrk|cargo|rustc' | cut -c1-100 || true)
  if [ -n "$others" ]; then
    printf 'WARNING (%s): other load on the machine, figures are disturbed:\n%s\n' "$1" "$others" >>"$WORK/warnings"
    log "WARNING ($1): other wrk/cargo/rustc processes are running"
  fi
}


# wrk output → "rps p50_ms p99_ms requests non2xx socket_errors seconds"
cat >"$WORK/parse_wrk.py" <<'PY'
import re, sys
t = sys.stdin.read()
UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}
def ms(v):
    n, u = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", v).groups()
    return float(n) * UNIT[u]
def find(pat, default=None):
    m = re.search(pat, t, re.M)
    if m is None and default is None:
        sys.exit(f"cannot parse wrk output ({pat}):\n{t}")
    return m.group(1) if m else default
rps = float(find(r"^Requests/sec:\s+([\d.]+)"))
p50 = ms(find(r"^\s+50%\s+(\S+)"))
p99 = ms(find(r"^\s+99%\s+(\S+)"))
reqs = int(find(r"^\s+(\d+) requests in"))
secs = ms(find(r"^\s+\d+ requests in ([\d.]+\w+),")) / 1000
non2xx = int(find(r"^\s+Non-2xx or 3xx responses:\s+(\d+)", "0"))
m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", t)
errs = sum(map(int, m.groups())) if m else 0
print(f"{rps:.1f} {p50:.4f} {p99:.4f} {reqs} {non2xx} {errs} {secs:.3f}")
PY

# One measured wrk run; appends "rps p50 p99 requests non2xx errors seconds server_ticks wrk_ticks"
# to $WORK/res/FILE. wrk's CPU time is read from this shell's waited-for-children counters.
measure() { # FILE SERVER_PID URL [wrk args...]
  local file=$1 pid=$2 url=$3 t0 t1 w0 w1 out
  shift 3
  mkdir -p "$WORK/res" "$WORK/raw"
  t0=$(cpu_ticks "$pid")
  w0=$(children_ticks)
  out=$("${LOAD_PIN[@]}" wrk -t1 -c"$CONNS" -d"$DURATION" --latency "$@" "$url")
  w1=$(children_ticks)
  t1=$(cpu_ticks "$pid")
  printf '%s\n' "$out" >>"$WORK/raw/$file"
  printf '%s %s %s\n' "$(printf '%s\n' "$out" | python3 "$WORK/parse_wrk.py")" "$((t1 - t0))" "$((w1 - w0))" >>"$WORK/res/$file"
}

