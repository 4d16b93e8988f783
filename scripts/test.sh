#!/usr/bin/env bash
# The one test command (README, .ci/run): on a fresh machine it installs what it needs, starts the
# local stacks (Dovecot, Postfix, Redis on loopback), lints, typechecks and runs every test tier
# against the real services. A stack this run started is stopped at the end; one that was already
# running is left running (PSIRT_KEEP_STACK=1 keeps it either way).
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n== %s\n' "$*" >&2; }

step "dependencies"
bash scripts/ensure-deps.sh

step "local stacks"
# Stack 1 for the unit and integration tiers and the first e2e worker; one more per further e2e
# worker (PSIRT_E2E_WORKERS, default 2: e2e files run two at a time, each on a stack of its own).
workers=${PSIRT_E2E_WORKERS:-2}
started=()
for i in $(seq 1 "$workers"); do
  instance=$([ "$i" = 1 ] && echo '' || echo "$i")
  if ! PSIRT_STACK_INSTANCE=$instance bash test/stack/stack.sh status >/dev/null 2>&1; then
    started+=("$instance")
  fi
  PSIRT_STACK_INSTANCE=$instance bash test/stack/stack.sh start >/dev/null
done
stop_started() {
  for instance in "${started[@]}"; do
    PSIRT_STACK_INSTANCE=$instance bash test/stack/stack.sh stop >/dev/null 2>&1 || true
  done
}
if [ "${#started[@]}" -gt 0 ] && [ "${PSIRT_KEEP_STACK:-0}" != 1 ]; then
  trap stop_started EXIT
fi

step "lint (eslint, prettier, import cycles, Dockerfile)"
npm run --silent lint
step "typecheck"
npm run --silent typecheck

step "tests: unit → integration → e2e, with coverage thresholds (vitest.config.ts)"
report=.vitest-report.json
status=0
npx vitest run --coverage --reporter=default --reporter=json --outputFile.json="$report" || status=$?
# One plain closing line that any CI reads: "N passed, N failed".
node -e '
  const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
  if (r.numTotalTests === 0) process.exit(1);
' "$report" || status=1
exit "$status"
