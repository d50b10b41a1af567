#!/usr/bin/env bash
# Benchmark suite "credentials": whether several GoAlert credentials would shorten convergence
# on GoAlert's side (the optional parallelism). GoAlert serves one request at a time
# per API key, so the operator uses one. This suite creates convergence's organisation directly
# (the lower bound's requests) with 1 key, then again split between 2 and 4 keys sending at the
# same time, all in one run. Run it through e2e/bench.sh:
#
#   e2e/bench.sh credentials
#   BENCH_CREDENTIALS=1,2,4,8 BENCH_RESOURCES=500 e2e/bench.sh credentials
#
# Knobs: BENCH_RESOURCES (per credential count, default 1000), BENCH_CREDENTIALS (default 1,2,4).
set -euo pipefail

exec python3 e2e/bench/credentials.py \
  --resources "${BENCH_RESOURCES:-1000}" \
  --credentials "${BENCH_CREDENTIALS:-1,2,4}" \
  --results "$BENCH_RESULTS"
