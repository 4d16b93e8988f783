#!/usr/bin/env bash
# Installs the npm dependencies when node_modules is missing or older than package-lock.json
# (a fresh clone, or a pull that changed the lock). Progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.psirt-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "deps: npm ci (first run compiles better-sqlite3: a few minutes)" >&2
  npm ci --no-audit --no-fund >&2
  echo "$want" >"$stamp"
fi
