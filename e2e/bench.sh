#!/usr/bin/env bash
# Runs the benchmark suites (not part of the tests: they take long and measure, they do not
# assert). Each suite is e2e/bench/<suite>.sh; with no arguments every suite runs. A suite starts
# what it needs on the benchmark testbed (its own ports) and writes bench-results/<suite>.md and
# bench-results/<suite>.json (git-ignored): every figure beside its target, ratios measured in
# one run. Example: e2e/bench.sh gctl
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export TESTBED_STATE=${TESTBED_STATE:-${TMPDIR:-/tmp}/goalert-provisioning-bench}
export POSTGRES_PORT=${POSTGRES_PORT:-47432} GOALERT_PORT=${GOALERT_PORT:-47081} GOALERT_METRICS_PORT=${GOALERT_METRICS_PORT:-47082}
export ETCD_PORT=${ETCD_PORT:-47379} ETCD_PEER_PORT=${ETCD_PEER_PORT:-47380} APISERVER_PORT=${APISERVER_PORT:-47443}
. e2e/lib.sh
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$TESTBED_CACHE/cargo-target}
export BENCH_RESULTS=${BENCH_RESULTS:-$PWD/bench-results}
mkdir -p "$BENCH_RESULTS"

suites=("$@")
if ((${#suites[@]} == 0)); then
  for file in e2e/bench/*.sh; do suites+=("$(basename "$file" .sh)"); done
fi
for suite in "${suites[@]}"; do
  [ -f "e2e/bench/$suite.sh" ] || die "no benchmark suite $suite (e2e/bench/$suite.sh)"
done

e2e/up.sh
[ -n "${KEEP_TESTBED:-}" ] || trap e2e/down.sh EXIT
# Every suite runs on the testbed's settings, with the CRDs installed.
# shellcheck source=/dev/null
. "$TESTBED_STATE/env"
kubectl apply --server-side --force-conflicts -f crds/ >/dev/null
kubectl wait --for condition=Established --timeout 60s -f crds/ >/dev/null
# Benchmarks measure release builds, as users run them; BENCH_PROFILE=dev measures the debug
# build, which is quicker to make while a suite is being written (its reports say so).
export BENCH_PROFILE=${BENCH_PROFILE:-release}
case $BENCH_PROFILE in
  release) export BENCH_BIN=$CARGO_TARGET_DIR/release ;;
  dev) export BENCH_BIN=$CARGO_TARGET_DIR/debug ;;
  *) die "BENCH_PROFILE is release or dev, not $BENCH_PROFILE" ;;
esac
# The shipped binaries as the Dockerfile builds them; then the e2e crate's load generator in a
# build of its own (with the workspace's features unified the operator would be another binary).
cargo build --locked --profile "$BENCH_PROFILE" --bins
cargo build --locked --profile "$BENCH_PROFILE" -p e2e --bins
for suite in "${suites[@]}"; do
  log "benchmark suite $suite"
  bash "e2e/bench/$suite.sh"
done
log "reports in $BENCH_RESULTS"
