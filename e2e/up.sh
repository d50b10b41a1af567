#!/usr/bin/env bash
# Starts the testbed on 127.0.0.1: PostgreSQL, GoAlert, etcd, kube-apiserver and
# kube-controller-manager (garbage collection and namespaces only). Writes $TESTBED_STATE/env,
# which the tests and the demo read. Idempotent: a testbed that is already up is left running.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [ -f "$TESTBED_STATE/env" ] && "$E2E_DIR/status.sh" >/dev/null 2>&1; then
  log "already running; state in $TESTBED_STATE"
  exit 0
fi
"$E2E_DIR/down.sh" >/dev/null 2>&1 || true

"$E2E_DIR/install.sh"

# A port another testbed (or anything else) holds would not fail loudly: a GoAlert already
# answering there passes the health check, and the tests would talk to the wrong one. A few
# seconds' grace for this testbed's own processes, which down.sh has just killed.
ports=("$POSTGRES_PORT" "$GOALERT_PORT" "$ETCD_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT" ${GOALERT_METRICS_PORT:+"$GOALERT_METRICS_PORT"})
for port in "${ports[@]}"; do
  for attempt in 1 2 3 4 5 6; do
    (exec 3<>"/dev/tcp/$TESTBED_HOST/$port") 2>/dev/null || continue 2
    [ "$attempt" = 6 ] || sleep 0.5
  done
  die "port $TESTBED_HOST:$port is already in use (another testbed?); stop it, or set POSTGRES_PORT, GOALERT_PORT, ETCD_PORT, ETCD_PEER_PORT and APISERVER_PORT to free ports"
done
mkdir -p "$TESTBED_STATE"/{logs,pids,pki}
STATE=$TESTBED_STATE

# PostgreSQL refuses to run as root; Debian's package provides the postgres user.
as_db_user() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_postgres() {
  local bin
  bin=$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n1)")
  mkdir -p "$STATE/pg"
  [ "$(id -u)" = 0 ] && chown postgres "$STATE/pg"
  as_db_user "$bin/initdb" -D "$STATE/pg/data" -U postgres --auth=trust -E UTF8 >"$STATE/logs/initdb.log"
  as_db_user "$bin/pg_ctl" -D "$STATE/pg/data" -l "$STATE/pg/postgres.log" -w start \
    -o "-p $POSTGRES_PORT -k $STATE/pg -c listen_addresses=$TESTBED_HOST -c fsync=off -c full_page_writes=off" \
    >/dev/null
  as_db_user "$bin/createdb" -h "$TESTBED_HOST" -p "$POSTGRES_PORT" -U postgres goalert
}

GOALERT_URL="http://$TESTBED_HOST:$GOALERT_PORT"
DB_URL="postgres://postgres@$TESTBED_HOST:$POSTGRES_PORT/goalert?sslmode=disable"

start_goalert() {
  goalert migrate --db-url "$DB_URL" >"$STATE/logs/goalert-migrate.log" 2>&1
  # GoAlert's own metrics, where a benchmark asks for them, count what it served.
  start_goalert_server goalert "$DB_URL" "$GOALERT_PORT" \
    ${GOALERT_METRICS_PORT:+--listen-prometheus "$TESTBED_HOST:$GOALERT_METRICS_PORT"}
}

# A CA, a serving certificate for 127.0.0.1, and the service-account signing key.
make_pki() {
  local pki=$STATE/pki
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=testbed-ca" \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" \
    -keyout "$pki/apiserver.key" -out "$pki/apiserver.csr" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$pki/apiserver.ext"
  openssl x509 -req -in "$pki/apiserver.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 30 -extfile "$pki/apiserver.ext" -out "$pki/apiserver.crt" 2>/dev/null
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  ADMIN_TOKEN=$(openssl rand -hex 24)
  echo "$ADMIN_TOKEN,testbed-admin,testbed-admin,system:masters" >"$pki/tokens.csv"
}

start_kubernetes() {
  spawn etcd etcd --data-dir "$STATE/etcd" --unsafe-no-fsync \
    --listen-client-urls "http://$TESTBED_HOST:$ETCD_PORT" --advertise-client-urls "http://$TESTBED_HOST:$ETCD_PORT" \
    --listen-peer-urls "http://$TESTBED_HOST:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://$TESTBED_HOST:$ETCD_PEER_PORT" \
    --initial-cluster "default=http://$TESTBED_HOST:$ETCD_PEER_PORT"
  wait_for etcd 30 "$STATE/logs/etcd.log" curl -fsS "http://$TESTBED_HOST:$ETCD_PORT/health"

  local pki=$STATE/pki apiserver="https://$TESTBED_HOST:$APISERVER_PORT"
  spawn kube-apiserver kube-apiserver --etcd-servers "http://$TESTBED_HOST:$ETCD_PORT" \
    --bind-address "$TESTBED_HOST" --advertise-address "$TESTBED_HOST" --secure-port "$APISERVER_PORT" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" --token-auth-file "$pki/tokens.csv" \
    --service-cluster-ip-range 10.0.0.0/24 --allow-privileged \
    --authorization-mode RBAC --disable-admission-plugins ServiceAccount \
    --service-account-issuer "$apiserver/" --service-account-key-file "$pki/sa.pub" \
    --service-account-signing-key-file "$pki/sa.key"

  export KUBECONFIG=$STATE/kubeconfig
  kubectl config set-cluster testbed --server "$apiserver" --certificate-authority "$pki/ca.crt" --embed-certs >/dev/null
  kubectl config set-credentials testbed-admin --token "$ADMIN_TOKEN" >/dev/null
  kubectl config set-context testbed --cluster testbed --user testbed-admin --namespace default >/dev/null
  kubectl config use-context testbed >/dev/null
  wait_for kube-apiserver 120 "$STATE/logs/kube-apiserver.log" kubectl get --raw /readyz

  spawn kube-controller-manager kube-controller-manager --kubeconfig "$KUBECONFIG" \
    --authentication-kubeconfig "$KUBECONFIG" --authorization-kubeconfig "$KUBECONFIG" \
    --bind-address "$TESTBED_HOST" --secure-port 0 --leader-elect=false \
    --controllers garbage-collector-controller,namespace-controller,serviceaccount-controller,serviceaccount-token-controller,root-ca-certificate-publisher-controller \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" --use-service-account-credentials=false
  # The default ServiceAccount appearing proves the controller-manager is working.
  wait_for kube-controller-manager 60 "$STATE/logs/kube-controller-manager.log" \
    kubectl get serviceaccount default -n default
}

start_postgres
start_goalert
make_pki
start_kubernetes

cat >"$STATE/env" <<ENV
export KUBECONFIG=$STATE/kubeconfig
export GOALERT_URL=$GOALERT_URL
export GOALERT_ADMIN_USER=$GOALERT_ADMIN_USER
export GOALERT_ADMIN_PASSWORD=$GOALERT_ADMIN_PASSWORD
export GOALERT_DB_URL=$DB_URL
export GOALERT_METRICS_URL=${GOALERT_METRICS_PORT:+http://$TESTBED_HOST:$GOALERT_METRICS_PORT}
export TESTBED_STATE=$STATE
export TESTBED_BIN=$TESTBED_CACHE/bin
export PATH=$TESTBED_CACHE/bin:\$PATH
ENV
log "up: kubeconfig $STATE/kubeconfig, GoAlert $GOALERT_URL (user $GOALERT_ADMIN_USER)"
