#!/usr/bin/env bash
# Benchmark suite "convergence": an organisation of teams (10 custom resources each) converged by
# the operator, against the same objects created directly with the fewest GraphQL requests, in
# one run; then a restart and the steady state over several resync periods. Run it through
# e2e/bench.sh (which starts the benchmark testbed and builds the release binaries):
#
#   e2e/bench.sh convergence                          # N = 1,000 resources (100 teams)
#   BENCH_RESOURCES=5000 e2e/bench.sh convergence     # N = 5,000
#
# Other knobs: BENCH_CREDENTIAL (key, the default; or session: both sides log in as the testbed's
# administrator instead), BENCH_STEADY_RESYNC (default 60s), BENCH_STEADY_PERIODS (default 3),
# BENCH_OPERATOR (another operator binary, e.g. to compare two builds).
set -euo pipefail

exec python3 e2e/bench/convergence.py \
  --resources "${BENCH_RESOURCES:-1000}" \
  --steady-resync "${BENCH_STEADY_RESYNC:-60}" \
  --steady-periods "${BENCH_STEADY_PERIODS:-3}" \
  --operator "${BENCH_OPERATOR:-$BENCH_BIN/goalert-provisioning}" \
  --credential "${BENCH_CREDENTIAL:-key}" \
  --document crates/goalert-client/src/operations.graphql \
  --results "$BENCH_RESULTS"
