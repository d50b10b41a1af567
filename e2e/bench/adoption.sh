#!/usr/bin/env bash
# Benchmark suite "adoption": an organisation made by GoAlert's own data generator
# (devtools/resetdb --with-rand-data) on a database of its own, served by a GoAlert started the
# way the testbed starts its own; `goalert-provisioning export` timed reading it; the export then
# applied to the same GoAlert with the operator running (adoption allowed), timed until every
# resource is Ready, with GoAlert requests and mutations, Kubernetes requests and RSS. Run it
# through e2e/bench.sh (which starts the benchmark testbed and builds the binaries):
#
#   e2e/bench.sh adoption                          # resetdb -mult 0.25 (about 1,700 objects)
#   BENCH_RESETDB_MULT=1 e2e/bench.sh adoption     # about 1,600 users and 400 services
#
# Other knobs: BENCH_RESETDB_SEED (default 1), BENCH_EXPORT_ROUNDS (default 3: the export's time
# is their median).
set -euo pipefail
. e2e/lib.sh

mult=${BENCH_RESETDB_MULT:-0.25}
database=bench_adoption_$(date +%s)
server=${GOALERT_DB_URL%/*}
db_url="$server/$database?sslmode=disable"
port=$(python3 -c 'import sys; sys.path.insert(0, "e2e/bench"); import benchlib; print(benchlib.free_port())')
name=goalert-$database
cleanup() {
  [ -f "$TESTBED_STATE/pids/$name.pid" ] && kill -TERM -- "-$(cat "$TESTBED_STATE/pids/$name.pid")" 2>/dev/null
  rm -f "$TESTBED_STATE/pids/$name.pid"
  psql "$GOALERT_DB_URL" -q -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

log "adoption bench: generating an organisation (resetdb -mult $mult) in database $database"
# resetdb creates the database itself (through the `postgres` one) and migrates it.
resetdb -with-rand-data -mult "$mult" -seed "${BENCH_RESETDB_SEED:-1}" \
  -db-url "$db_url" -admin-db-url "$server/postgres?sslmode=disable" >"$TESTBED_STATE/logs/$name-resetdb.log" 2>&1
# API only: no engine cycle works on the generated alerts while the operator adopts.
start_goalert_server "$name" "$db_url" "$port" --api-only

python3 e2e/bench/adoption.py \
  --goalert-url "http://$TESTBED_HOST:$port" \
  --mult "$mult" \
  --export-rounds "${BENCH_EXPORT_ROUNDS:-3}" \
  --operator "$BENCH_BIN/goalert-provisioning" \
  --document crates/goalert-client/src/operations.graphql \
  --results "$BENCH_RESULTS"
