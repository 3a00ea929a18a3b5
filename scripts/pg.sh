# PostgreSQL at 127.0.0.1:5432 for the tests and the local cluster. Sourced, not run (by
# scripts/test.sh and scripts/cluster.sh).
#
#   ensure_postgres             starts Debian's cluster (pg_ctlcluster) if nothing answers,
#                               installing PostgreSQL first if it is missing
#   ensure_database NAME        creates database NAME unless it exists

pg_log() { printf '\n== %s\n' "$*" >&2; }

ensure_postgres() {
  if pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then return 0; fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    pg_log "installing PostgreSQL"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  local ver
  ver=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_log "starting PostgreSQL $ver"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 1 60); do
    pg_isready -h 127.0.0.1 -p 5432 -q && break
    sleep 0.5
  done
  pg_isready -h 127.0.0.1 -p 5432
}

ensure_database() { # NAME
  psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$1'" | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE \"$1\""
}
