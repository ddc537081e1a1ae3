#!/usr/bin/env bash
# Runs the console's tests; CI calls this. From anywhere:
#
#   bash console/test/run.sh
#
# Always: the codec tests and the page logic that needs no browser
# (console/test/proto.test.mjs, console.test.mjs; Node.js only).
# With STRATUS_CONSOLE_URL set (a running `stratus-server --console-listen`):
#   also the page tests against the mock API (page.test.mjs) and the
#   end-to-end browser test against that server (browser.test.mjs), which
#   reads STRATUS_API_URL (default: the console's /config.json) and
#   STRATUS_SCREENSHOT (default: $TMPDIR/stratus-console.png).
# With STRATUS_CONSOLE_PAGE_TESTS=1: the page tests (mock API) without a server.
#
# Installs what is missing with apt-get (nodejs, npm, chromium: needs root or
# sudo) and the test dependency (playwright-core, pinned in
# console/package-lock.json) with npm ci. STRATUS_CHROMIUM overrides the
# browser's path (default /usr/bin/chromium).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
console=$(dirname "$here")
root=$(dirname "$console")
cd "$root"

as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "run.sh: need root (or sudo) for: $*" >&2
    return 1
  fi
}

apt_install() {
  echo "run.sh: installing $* with apt-get" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

browser=0
if [ -n "${STRATUS_CONSOLE_URL:-}" ] || [ "${STRATUS_CONSOLE_PAGE_TESTS:-0}" = 1 ]; then
  browser=1
fi
chromium=${STRATUS_CHROMIUM:-/usr/bin/chromium}

need=()
command -v node >/dev/null 2>&1 || need+=(nodejs)
if [ $browser = 1 ]; then
  command -v npm >/dev/null 2>&1 || need+=(npm)
  [ -x "$chromium" ] || need+=(chromium)
fi
if [ ${#need[@]} -gt 0 ]; then
  apt_install "${need[@]}"
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
echo "run.sh: node $(node --version)" >&2

files=(console/test/proto.test.mjs console/test/console.test.mjs)
if [ $browser = 1 ]; then
  if [ "$node_major" -lt 20 ]; then
    echo "run.sh: the browser tests need Node.js 20 or later (playwright-core); found $(node --version)" >&2
    exit 1
  fi
  echo "run.sh: $("$chromium" --version 2>/dev/null || echo "chromium at $chromium")" >&2
  npm ci --prefix console --no-audit --no-fund
  files+=(console/test/page.test.mjs)
  if [ -n "${STRATUS_CONSOLE_URL:-}" ]; then
    files+=(console/test/browser.test.mjs)
  fi
else
  echo "run.sh: STRATUS_CONSOLE_URL is not set: codec and page-logic tests only (no browser)" >&2
fi

# One test file at a time: each browser test starts its own Chromium.
exec node --test --test-concurrency=1 "${files[@]}"
