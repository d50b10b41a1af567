#!/usr/bin/env bash
# Runs the fault suite: the long versions of the scenarios in e2e/tests/e2e_faults.rs,
# e2e_outages.rs and e2e_leader.rs (the normal test run has the short ones), on a testbed of its
# own ports. Writes bench-results/faults.md and
# bench-results/faults.jsonl (git-ignored): per scenario what was done, what was checked, and the
# counts (objects, duplicates found, keys that work, secrets leaked, seconds to recover).
# FAULTS_SEED=<n> repeats a run's kill points; extra arguments go to the test binary (a filter).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export TESTBED_STATE=${TESTBED_STATE:-${TMPDIR:-/tmp}/goalert-provisioning-faults}
export POSTGRES_PORT=${POSTGRES_PORT:-44432} GOALERT_PORT=${GOALERT_PORT:-44081}
export ETCD_PORT=${ETCD_PORT:-44379} ETCD_PEER_PORT=${ETCD_PEER_PORT:-44380} APISERVER_PORT=${APISERVER_PORT:-44443}
. e2e/lib.sh
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$TESTBED_CACHE/cargo-target}
results=${BENCH_RESULTS:-$PWD/bench-results}
mkdir -p "$results"
export FAULTS_LONG=1 FAULTS_REPORT=$results/faults.jsonl
rm -f "$FAULTS_REPORT"

e2e/up.sh
[ -n "${KEEP_TESTBED:-}" ] || trap e2e/down.sh EXIT
KUBECONFIG=$TESTBED_STATE/kubeconfig kubectl apply --server-side --force-conflicts -f crds/ >/dev/null
KUBECONFIG=$TESTBED_STATE/kubeconfig kubectl wait --for condition=Established --timeout 60s -f crds/ >/dev/null
cargo build --locked --bins
# One scenario at a time: each disturbs the machine the others would measure on. The report is
# written for the scenarios that ran even when one failed; the exit status says whether all passed.
status=0
cargo test --locked -p e2e --features e2e/e2e --no-fail-fast \
  --test e2e_faults --test e2e_outages --test e2e_leader -- --test-threads 1 "$@" || status=$?
touch "$FAULTS_REPORT"

python3 - "$FAULTS_REPORT" "$results/faults.md" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
with open(sys.argv[2], "w") as out:
    out.write("# Fault suite\n\n")
    for r in rows:
        out.write(f"## {r['scenario']}\n\n- done: {r['done']}\n- checked: {r['checked']}\n")
        out.write(f"- objects: {r['objects']}, duplicates found: {r['duplicates']}, keys that work: "
                  f"{r['keys_working']}, secrets leaked: {r['secrets_leaked']}, "
                  f"time to recover: {r['seconds_to_recover']:.1f} s\n\n")
PY
cat "$results/faults.md"
log "report in $results/faults.md"
exit "$status"
