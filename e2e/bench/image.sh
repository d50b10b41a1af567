#!/usr/bin/env bash
# Benchmark suite "image": the static binaries the Dockerfile ships (built with its cargo command
# and flags, in a target folder of their own), their sizes, and the shipped operator's time from
# start to /readyz ready (median of several starts, measured as the convergence suite measures
# its operator's). Run it through e2e/bench.sh (which starts the benchmark testbed):
#
#   e2e/bench.sh image
#
# Knob: BENCH_IMAGE_STARTS (default 5). The base image's layer (distroless static) is not
# measured: there is no Docker engine or registry here.
set -euo pipefail
. e2e/lib.sh

# The Dockerfile's build stage (e2e/tests/e2e_chart/image.rs checks that these are its flags).
triple="$(uname -m)-unknown-linux-gnu"
target_dir=$CARGO_TARGET_DIR-image
log "image bench: building the Dockerfile's static binaries ($BENCH_PROFILE profile) in $target_dir"
RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR=$target_dir \
  cargo build --locked --profile "$BENCH_PROFILE" --target "$triple" --bin goalert-provisioning --bin gctl
binaries=$target_dir/$triple/${BENCH_BIN##*/}

exec python3 e2e/bench/image.py \
  --binaries "$binaries" \
  --starts "${BENCH_IMAGE_STARTS:-5}" \
  --document crates/goalert-client/src/operations.graphql \
  --results "$BENCH_RESULTS"
