#!/usr/bin/env bash
# Benchmark suite "memory": the operator's RSS with 1,000 and 10,000 custom resources in its
# namespace (targets 40 and 200 MiB), each sampled over several resync periods (flat), then
# with 10,000 unrelated Secrets beside them (target: no growth). The resources have
# `suspend: true`, so no GoAlert objects are needed (memory.py says exactly what is measured).
# Run it through e2e/bench.sh (which starts the benchmark testbed and builds the binaries):
#
#   e2e/bench.sh memory
#   BENCH_MEMORY_SIZES=1000 BENCH_MEMORY_SECRETS=1000 BENCH_MEMORY_RESYNC=30 e2e/bench.sh memory
#   BENCH_MEMORY_SIZES=1000 BENCH_MEMORY_PERIODS=30 e2e/bench.sh memory   # an hour of resyncs
#
# Knobs: BENCH_MEMORY_SIZES (default 1000,10000), BENCH_MEMORY_SECRETS (default 10000),
# BENCH_MEMORY_RESYNC (seconds, default 60; the operator's minimum is 30), BENCH_MEMORY_PERIODS
# (default 3).
set -euo pipefail

exec python3 e2e/bench/memory.py \
  --sizes "${BENCH_MEMORY_SIZES:-1000,10000}" \
  --secrets "${BENCH_MEMORY_SECRETS:-10000}" \
  --resync "${BENCH_MEMORY_RESYNC:-60}" \
  --periods "${BENCH_MEMORY_PERIODS:-3}" \
  --operator "$BENCH_BIN/goalert-provisioning" \
  --document crates/goalert-client/src/operations.graphql \
  --results "$BENCH_RESULTS"
