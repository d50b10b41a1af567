#!/usr/bin/env bash
# Starts the local demo and leaves it running: the testbed, the operator (out of cluster, with an
# API key minted for its document) and the examples, all Ready. Stop everything with e2e/down.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. e2e/lib.sh
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$TESTBED_CACHE/cargo-target}
# GoAlert with its web UI, so its URL opens the real UI: built once by e2e/install.sh (up to 10
# minutes the first time), then cached. GOALERT_WEB_UI=0 skips that build: GoAlert then serves
# the API only, unless the web UI build is already cached.
export GOALERT_WEB_UI=${GOALERT_WEB_UI:-1}

e2e/up.sh
. "$TESTBED_STATE/env"
KUBECONFIG=$TESTBED_STATE/kubeconfig kubectl apply --server-side --force-conflicts -f crds/ >/dev/null
KUBECONFIG=$TESTBED_STATE/kubeconfig kubectl wait --for condition=Established --timeout 60s -f crds/ >/dev/null
cargo build --locked --bins
operator=$CARGO_TARGET_DIR/debug/goalert-provisioning

if [ ! -f "$TESTBED_STATE/operator-api-key" ]; then
  GOALERT_USERNAME=$GOALERT_ADMIN_USER GOALERT_PASSWORD=$GOALERT_ADMIN_PASSWORD \
    "$operator" create-api-key --goalert-url "$GOALERT_URL" --name "demo operator" >"$TESTBED_STATE/operator-api-key"
fi
pidfile=$TESTBED_STATE/pids/operator.pid
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  kill -TERM -- "-$(cat "$pidfile")" 2>/dev/null || true
fi
METRICS_PORT=${METRICS_PORT:-8080} WEBHOOK_PORT=${WEBHOOK_PORT:-9443}
# Both admission webhooks, registered as the chart registers them; the API server calls the
# operator on 127.0.0.1, which makes its own serving certificate and injects its CA (caBundle).
# (One document per file: a `---` between them, or kubectl reads one object, the last.)
for file in webhooks/validating.yaml webhooks/mutating.yaml; do
  sed "s#https://127.0.0.1:9443/#https://127.0.0.1:$WEBHOOK_PORT/#" "$file"; echo ---
done | kubectl apply -f - >/dev/null
GOALERT_API_KEY=$(cat "$TESTBED_STATE/operator-api-key") METRICS_BIND_ADDRESS=127.0.0.1:$METRICS_PORT \
  WEBHOOK_CERT_MODE=self-managed WEBHOOK_BIND_ADDRESS=127.0.0.1:$WEBHOOK_PORT WEBHOOK_CERT_IP_SANS=127.0.0.1 \
  POD_NAMESPACE=default setsid "$operator" run >"$TESTBED_STATE/logs/operator.log" 2>&1 </dev/null &
echo $! >"$pidfile"
wait_for operator 60 "$TESTBED_STATE/logs/operator.log" curl -fsS "http://127.0.0.1:$METRICS_PORT/readyz"
# The API server picks up the caBundle within seconds: until then the webhooks cannot be called.
bad=e2e/bad-manifests/rotation-unknown-time-zone.yaml
refused() { { kubectl apply --dry-run=server -f "$bad" 2>&1 || true; } | grep -q "is not an IANA time zone name"; }
wait_for "the admission webhooks" 30 "$TESTBED_STATE/logs/operator.log" refused

# The examples, all at once, in one pass: objects wait for the ones they reference and become
# Ready in turn.
kubectl apply -f examples/ >/dev/null
examples=()
for file in examples/*.yaml; do examples+=(-f "$file"); done
kubectl wait --for condition=Ready --timeout 180s "${examples[@]}" >/dev/null

# What GoAlert serves, as seen from its URL: the UI's bundle is embedded only in the web UI build.
if curl -fsS -o /dev/null "$GOALERT_URL/static/app.js"; then
  goalert_ui="web UI: open it in a browser"
else
  goalert_ui="API only, no web UI bundle (GOALERT_WEB_UI=$GOALERT_WEB_UI)"
fi
cat <<MSG

GoAlert provisioning demo is running.
  Kubernetes:  export KUBECONFIG=$KUBECONFIG PATH=$TESTBED_BIN:\$PATH
               kubectl get goalert      (the examples, applied to the default namespace)
  GoAlert:     $GOALERT_URL  (login $GOALERT_ADMIN_USER / $GOALERT_ADMIN_PASSWORD; $goalert_ui)
  Operator:    http://127.0.0.1:$METRICS_PORT/metrics, /readyz   log: $TESTBED_STATE/logs/operator.log
  Webhooks:    both on (https://127.0.0.1:$WEBHOOK_PORT); see a bad manifest refused:
               kubectl apply -f $bad
  Stop:        e2e/down.sh
MSG
