#!/usr/bin/env bash
# npm run bench: the benchmark of issue #6 on the local stack. Installs what is missing, starts
# the stack, builds, then runs scripts/bench.ts with the given options (see its header).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
bash test/stack/stack.sh start >/dev/null
npm run --silent build
exec node --import tsx scripts/bench.ts "$@"
