#!/usr/bin/env bash
# Fuzzes the admission webhooks (docs/development.md, "Fuzzing"): each target for FUZZ_SECONDS
# (default 300, so the two targets take 10 minutes), with libFuzzer through cargo-fuzz on nightly
# when cargo-fuzz is installed, else with the stable driver (fuzz/src/bin/drive.rs); FUZZ_ENGINE
# (libfuzzer or driver) chooses. Writes bench-results/fuzz.md: per target the engine, seconds,
# runs and crashes. Exits 1 when a target crashed; the input is in fuzz/artifacts/<target>/.
# Example: FUZZ_SECONDS=30 FUZZ_ENGINE=driver fuzz/run.sh review_bytes
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${FUZZ_SECONDS:-300}
if [ -z "${FUZZ_ENGINE:-}" ]; then
  FUZZ_ENGINE=driver
  cargo +nightly fuzz --version >/dev/null 2>&1 && FUZZ_ENGINE=libfuzzer
fi
targets=("$@")
((${#targets[@]})) || targets=(review_bytes structured_specs)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/goalert-provisioning/cargo-target}
results=${BENCH_RESULTS:-$PWD/bench-results}
mkdir -p "$results" fuzz/artifacts fuzz/regressions/review_bytes fuzz/regressions/structured_specs
log() { printf '[fuzz] %s\n' "$*" >&2; }

# The driver writes review_bytes' seeds: the manifests as AdmissionReviews. fuzz/regressions/
# holds inputs that once failed; every run replays them.
drive() { nice -n 10 cargo run --locked --quiet --manifest-path fuzz/Cargo.toml --no-default-features --features driver --bin drive -- "$@"; }
build_start=$SECONDS
drive seed fuzz/seeds/review_bytes >&2
mkdir -p fuzz/seeds/structured_specs
if [ "$FUZZ_ENGINE" = libfuzzer ]; then
  # No sanitizer: the webhook code has no unsafe code, and panics are what the targets look for;
  # without AddressSanitizer a run gets about twice the inputs.
  nice -n 10 cargo +nightly fuzz build --sanitizer none
fi
build_seconds=$((SECONDS - build_start))

rows=() failed=0
for target in "${targets[@]}"; do
  log "$target: $FUZZ_ENGINE for ${seconds}s"
  mkdir -p "fuzz/artifacts/$target" "fuzz/corpus/$target"
  before=$(find "fuzz/artifacts/$target" -type f | wc -l)
  output=$(mktemp)
  start=$SECONDS
  case $FUZZ_ENGINE in
    libfuzzer)
      (nice -n 10 cargo +nightly fuzz run --sanitizer none "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" "fuzz/regressions/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1 2>&1 \
        | tee "$output" >&2) && status=0 || status=$?
      runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$output" | tail -1)
      ;;
    driver)
      (drive run "$target" "$seconds" "fuzz/corpus/$target" "fuzz/seeds/$target" "fuzz/regressions/$target" \
        | tee "$output" >&2) && status=0 || status=$?
      runs=$(sed -n 's/.*runs=\([0-9]*\).*/\1/p' "$output" | tail -1)
      ;;
    *) log "FUZZ_ENGINE is libfuzzer or driver, not $FUZZ_ENGINE"; exit 2 ;;
  esac
  rm -f "$output"
  crashes=$(($(find "fuzz/artifacts/$target" -type f | wc -l) - before))
  ((status == 0)) || { failed=1; ((crashes > 0)) || crashes=1; }
  rows+=("| $target | $FUZZ_ENGINE | $((SECONDS - start)) | ${runs:-?} | $crashes |")
done

{
  echo "# Fuzzing the admission webhooks"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD), FUZZ_SECONDS=$seconds per target."
  echo "Builds took ${build_seconds}s before that; crashes are new files in fuzz/artifacts/<target>/."
  echo
  echo "| target | engine | seconds | runs | crashes |"
  echo "| --- | --- | --- | --- | --- |"
  printf '%s\n' "${rows[@]}"
} >"$results/fuzz.md"
log "report in $results/fuzz.md"
exit "$failed"
