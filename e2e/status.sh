#!/usr/bin/env bash
# Exits 0 when every testbed component answers its health check.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[ -f "$TESTBED_STATE/env" ] || die "not running (no $TESTBED_STATE/env)"
. "$TESTBED_STATE/env"
curl -fsS "$GOALERT_URL/health" >/dev/null || die "GoAlert at $GOALERT_URL is not healthy"
if [ -n "${GOALERT_METRICS_PORT:-}" ]; then
  curl -fsS -o /dev/null "${GOALERT_METRICS_URL:-none}/metrics" || die "GoAlert serves no metrics on port $GOALERT_METRICS_PORT"
fi
kubectl get --raw /readyz >/dev/null || die "kube-apiserver is not ready"
log "running: KUBECONFIG=$KUBECONFIG GOALERT_URL=$GOALERT_URL"
