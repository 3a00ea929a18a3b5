#!/usr/bin/env bash
# Installs what the tests beyond `cargo test` need, idempotently (fast when already there):
#   - Debian: chromium (browser tests), nginx + libnginx-mod-rtmp + ffmpeg (ingest end to end),
#     nodejs + npm and python3-venv, each only when missing
#   - the platforms' published Python clients, pinned in tests/clients/requirements.txt, into a
#     venv at target/test-tools/venv
#   - schemathesis, pinned in tests/fuzz/requirements.txt, into a venv at target/test-tools/fuzz-venv
#   - the platforms' published JavaScript clients and playwright-core, pinned in
#     tests/clients/package.json / package-lock.json, into tests/clients/node_modules
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "$@" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$@" >/dev/null; }
}

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
command -v nginx >/dev/null 2>&1 || missing+=(nginx)
[ -f /usr/lib/nginx/modules/ngx_rtmp_module.so ] || missing+=(libnginx-mod-rtmp)
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]} (apt)"
  apt_install "${missing[@]}"
fi

TOOLS=target/test-tools
mkdir -p "$TOOLS"

# A stamp holds the checksum of what was installed; a changed pin reinstalls.
stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

req_sum=$(sha256sum tests/clients/requirements.txt | cut -d' ' -f1)
if ! stamp_ok "$TOOLS/venv.stamp" "$req_sum" || [ ! -x "$TOOLS/venv/bin/python" ]; then
  log "installing the Python clients (tests/clients/requirements.txt)"
  rm -rf "$TOOLS/venv"
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install -q --disable-pip-version-check -r tests/clients/requirements.txt
  echo "$req_sum" >"$TOOLS/venv.stamp"
fi

fuzz_sum=$(sha256sum tests/fuzz/requirements.txt | cut -d' ' -f1)
if ! stamp_ok "$TOOLS/fuzz-venv.stamp" "$fuzz_sum" || [ ! -x "$TOOLS/fuzz-venv/bin/schemathesis" ]; then
  log "installing schemathesis (tests/fuzz/requirements.txt)"
  rm -rf "$TOOLS/fuzz-venv"
  python3 -m venv "$TOOLS/fuzz-venv"
  "$TOOLS/fuzz-venv/bin/pip" install -q --disable-pip-version-check -r tests/fuzz/requirements.txt
  echo "$fuzz_sum" >"$TOOLS/fuzz-venv.stamp"
fi

lock_sum=$(cat tests/clients/package.json tests/clients/package-lock.json | sha256sum | cut -d' ' -f1)
if ! stamp_ok "$TOOLS/npm.stamp" "$lock_sum" || [ ! -d tests/clients/node_modules ]; then
  log "installing the JavaScript clients and playwright-core (tests/clients/package-lock.json)"
  (cd tests/clients && npm ci --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" >"$TOOLS/npm.stamp"
fi
