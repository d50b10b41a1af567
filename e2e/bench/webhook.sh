#!/usr/bin/env bash
# Benchmark suite "webhook": admission reviews per second and p50/p99 latency at 1, 50 and 200
# concurrent clients, sent by the e2e crate's load generator (bench-load), directly to the
# operator's /validate and /mutate (HTTPS), and through the API server as server-side dry-run
# creates of a GoAlertRotation (both webhooks called), beside the same dry-run creates in a
# namespace no webhook matches. Run it through e2e/bench.sh (which starts the benchmark testbed
# and builds the binaries):
#
#   e2e/bench.sh webhook
#   BENCH_WEBHOOK_CLIENTS=1,50,200,500 BENCH_WEBHOOK_SECONDS=30 e2e/bench.sh webhook
#
# Knobs: BENCH_WEBHOOK_CLIENTS (default 1,50,200), BENCH_WEBHOOK_SECONDS (measured per client
# count, default 10; after a 2 s warm-up).
set -euo pipefail

exec python3 e2e/bench/webhook.py \
  --clients "${BENCH_WEBHOOK_CLIENTS:-1,50,200}" \
  --seconds "${BENCH_WEBHOOK_SECONDS:-10}" \
  --operator "$BENCH_BIN/goalert-provisioning" \
  --load "$BENCH_BIN/bench-load" \
  --document crates/goalert-client/src/operations.graphql \
  --results "$BENCH_RESULTS"
