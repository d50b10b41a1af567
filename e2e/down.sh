#!/usr/bin/env bash
# Stops every testbed process and removes its state. Safe to run when nothing is up.
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for pidfile in "$TESTBED_STATE"/pids/*.pid; do
  [ -f "$pidfile" ] || continue
  kill -TERM -- "-$(cat "$pidfile")" 2>/dev/null
done
if [ -d "$TESTBED_STATE/pg/data" ]; then
  bin=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/pg_ctl | sort -V | tail -n1)")
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$bin/pg_ctl" -D "$TESTBED_STATE/pg/data" -m immediate stop >/dev/null 2>&1
  else
    "$bin/pg_ctl" -D "$TESTBED_STATE/pg/data" -m immediate stop >/dev/null 2>&1
  fi
fi
sleep 1
for pidfile in "$TESTBED_STATE"/pids/*.pid; do
  [ -f "$pidfile" ] || continue
  kill -KILL -- "-$(cat "$pidfile")" 2>/dev/null
done
rm -rf "$TESTBED_STATE"
log "down"
