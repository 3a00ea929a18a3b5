#!/usr/bin/env bash
# A local cluster: three streamgate instances serving one PostgreSQL database, as several servers
# behind a load balancer would.
#
#   scripts/cluster.sh [start]   start PostgreSQL if it is down, create the database, build
#                                streamgate, start the instances that are not running, print
#                                their URLs and the credentials the first start printed
#   scripts/cluster.sh stop      stop the instances (SIGTERM: they finish what they batch)
#   scripts/cluster.sh status    which instances run, and whether they answer /healthz
#   scripts/cluster.sh reset     stop them, drop the database and the cluster's state
#
# Env: CLUSTER_DB (streamgate_cluster), CLUSTER_PORTS (7801,7802,7803; one port per instance,
#      separated by commas or spaces), CLUSTER_PROFILE (release; debug for the debug build),
#      CLUSTER_DIR (target/cluster: logs, pids, the master key, the first start's credentials),
#      CLUSTER_SKIP_BUILD (set: use the binary already built). Every STREAMGATE_* setting in the
#      environment reaches the instances (the README's settings table), except the database URL
#      and the master key file, which are the cluster's.
set -euo pipefail
cd "$(dirname "$0")/.."

DB="${CLUSTER_DB:-streamgate_cluster}"
read -r -a PORTS <<<"$(printf '%s' "${CLUSTER_PORTS:-7801,7802,7803}" | tr ',' ' ')"
PROFILE="${CLUSTER_PROFILE:-release}"
DIR="${CLUSTER_DIR:-target/cluster}"
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
DB_URL="postgres://postgres@127.0.0.1:5432/$DB"
KEY_FILE="$DIR/master.key"
FIRST="$DIR/first-start.txt"

case $PROFILE in
  release) BIN="$PWD/target/release/streamgate"; BUILD=(--release) ;;
  debug) BIN="$PWD/target/debug/streamgate"; BUILD=() ;;
  *) echo "CLUSTER_PROFILE must be release or debug, not $PROFILE" >&2; exit 2 ;;
esac
[[ $DB =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || { echo "CLUSTER_DB must be a plain name ([a-z_][a-z0-9_]*), not $DB" >&2; exit 2; }
[ ${#PORTS[@]} -ge 1 ] || { echo "CLUSTER_PORTS names no port" >&2; exit 2; }
for p in "${PORTS[@]}"; do
  [[ $p =~ ^[0-9]+$ ]] && [ "$p" -ge 1 ] && [ "$p" -le 65535 ] || { echo "not a port: $p" >&2; exit 2; }
done

log() { printf '%s\n' "$*" >&2; }

# The pid of instance N if it is running (and is a streamgate: a pid file can outlive its process
# and its number can be reused), else nothing.
running_pid() { # N
  local f="$DIR/instance-$1.pid" pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q streamgate; then
    echo "$pid"
  fi
}

healthy() { # PORT
  curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/healthz" 2>/dev/null
}

# The cluster's settings for every streamgate process it runs.
cluster_env() {
  export STREAMGATE_DATABASE_URL="$DB_URL"
  export STREAMGATE_MASTER_KEY_FILE="$KEY_FILE"
  export STREAMGATE_DATA_DIR="$DIR"
  unset STREAMGATE_MASTER_KEY # the key file is the cluster's one key
}

start_instance() { # N PORT
  local n=$1 port=$2 out="$DIR/instance-$1.log" pid
  : >"$out"
  chmod 600 "$out" # the first start prints secrets once, on standard output
  # Its own session: the instance outlives this script and a Ctrl-C in its terminal.
  setsid "$BIN" serve --listen "127.0.0.1:$port" >>"$out" 2>&1 </dev/null &
  pid=$!
  echo "$pid" >"$DIR/instance-$n.pid"
  for _ in $(seq 1 600); do
    grep -q '^streamgate listening on ' "$out" && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      log "instance $n (port $port) did not start:"
      tail -n 20 "$out" >&2
      rm -f "$DIR/instance-$n.pid"
      return 1
    fi
    sleep 0.1
  done
  log "instance $n (port $port) did not start within 60 s; its log: $out"
  return 1
}

status() {
  local i port pid state up=0
  for i in "${!PORTS[@]}"; do
    port=${PORTS[$i]}
    pid=$(running_pid $((i + 1)))
    if [ -z "$pid" ]; then
      state="stopped"
    elif healthy "$port"; then
      state="running, healthy (pid $pid)"
      up=$((up + 1))
    else
      state="running, not answering /healthz (pid $pid)"
    fi
    printf 'instance %d  http://127.0.0.1:%s  %s\n' $((i + 1)) "$port" "$state"
  done
  printf 'database   %s\nlogs, pids %s\n' "$DB_URL" "$DIR"
  [ "$up" -eq "${#PORTS[@]}" ]
}

stop() {
  local i pid pids=()
  for i in "${!PORTS[@]}"; do
    pid=$(running_pid $((i + 1)))
    if [ -n "$pid" ]; then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "pid $pid did not stop within 10 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  for i in "${!PORTS[@]}"; do rm -f "$DIR/instance-$((i + 1)).pid"; done
  log "stopped ${#pids[@]} instance(s)"
}

start() {
  . scripts/pg.sh
  ensure_postgres
  ensure_database "$DB"
  if [ -z "${CLUSTER_SKIP_BUILD:-}" ]; then
    log "building streamgate ($PROFILE)..."
    cargo build "${BUILD[@]}" --locked --bin streamgate
  fi
  [ -x "$BIN" ] || { log "no binary at $BIN"; exit 1; }
  chmod 700 "$DIR"
  cluster_env
  # Migrations, and on a new database the vault's master key file, once, before any instance:
  # every instance then opens what another sealed.
  if ! "$BIN" --log warn migrate >"$DIR/migrate.log" 2>&1; then
    cat "$DIR/migrate.log" >&2
    log "(a database made with another master key? scripts/cluster.sh reset starts afresh)"
    exit 1
  fi
  local i n port started=0
  for i in "${!PORTS[@]}"; do
    n=$((i + 1))
    port=${PORTS[$i]}
    if [ -n "$(running_pid "$n")" ]; then
      log "instance $n is already running"
      continue
    fi
    # One after another: the first start of an empty store makes its account, key and token.
    start_instance "$n" "$port" || { stop; exit 1; }
    started=$((started + 1))
    if sed -n '/^streamgate: the store was empty/,/shown only now/p' "$DIR/instance-$n.log" | grep -q .; then
      (umask 077 && sed -n '/^streamgate: the store was empty/,/shown only now/p' "$DIR/instance-$n.log" >"$FIRST")
    fi
  done
  log "started $started instance(s)"
  status || true
  if [ -f "$FIRST" ]; then
    echo
    echo "The first start printed (kept in $FIRST):"
    cat "$FIRST"
  fi
  cat <<EOF

Each instance answers the same API; e.g.
  curl -H "Authorization: Bearer <API key>" http://127.0.0.1:${PORTS[0]}/sg/v1/me
CLI against the cluster's store:
  STREAMGATE_DATABASE_URL=$DB_URL STREAMGATE_MASTER_KEY_FILE=$KEY_FILE $BIN key list --account 0001
Stop: scripts/cluster.sh stop
EOF
}

reset() {
  stop
  . scripts/pg.sh
  if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS \"$DB\"" >/dev/null
  fi
  rm -f "$KEY_FILE" "$FIRST" "$DIR"/instance-*.log "$DIR/migrate.log"
  log "dropped database $DB and the cluster's state in $DIR"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  reset) reset ;;
  *) echo "usage: $0 [start|stop|status|reset]" >&2; exit 2 ;;
esac
