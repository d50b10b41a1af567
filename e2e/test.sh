#!/usr/bin/env bash
# Runs every test: unit tests and the end-to-end tests against a real kube-apiserver and a real
# GoAlert. Starts its own testbed (on other ports than the demo's, so both can run) and stops it
# afterwards. Extra arguments go to `cargo test`, e.g. `e2e/test.sh --test e2e_foundation`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export TESTBED_STATE=${TESTBED_STATE:-${TMPDIR:-/tmp}/goalert-provisioning-tests}
export POSTGRES_PORT=${POSTGRES_PORT:-45432} GOALERT_PORT=${GOALERT_PORT:-48081}
export ETCD_PORT=${ETCD_PORT:-42379} ETCD_PEER_PORT=${ETCD_PEER_PORT:-42380} APISERVER_PORT=${APISERVER_PORT:-46443}
. e2e/lib.sh
# Build outputs live beside the testbed binaries, outside the clone, so CI's fresh clones reuse them.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$TESTBED_CACHE/cargo-target}

e2e/up.sh
[ -n "${KEEP_TESTBED:-}" ] || trap e2e/down.sh EXIT
KUBECONFIG=$TESTBED_STATE/kubeconfig kubectl apply --server-side --force-conflicts -f crds/ >/dev/null
KUBECONFIG=$TESTBED_STATE/kubeconfig kubectl wait --for condition=Established --timeout 60s -f crds/ >/dev/null
# The tests run the operator and gctl as processes, as their users do.
cargo build --locked --bins
cargo test --locked --workspace --features e2e/e2e "$@"
