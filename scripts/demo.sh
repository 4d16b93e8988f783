#!/usr/bin/env bash
# README command 1: the service on the local stack, as a demo. Installs what is missing, starts
# Dovecot + Postfix + Redis on loopback, builds, checks everything with `psirt doctor`, starts
# `psirt start`, mails a PGP-encrypted report to security@ through Postfix and shows what happens.
# The service keeps running until Ctrl-C (or exits after the demo with --once).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
echo "== local stack" >&2
bash test/stack/stack.sh start
echo "== build" >&2
npm run --silent build
exec node --import tsx scripts/demo.ts "$@"
