# Shared settings for the testbed scripts. Sourced, not run.
# shellcheck shell=bash
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
. "$E2E_DIR/versions.env"

# Built binaries live outside the clone so a fresh clone on the same machine reuses them.
TESTBED_CACHE=${TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/goalert-provisioning}
# Runtime state (data directories, logs, kubeconfig) of the running testbed.
TESTBED_STATE=${TESTBED_STATE:-${TMPDIR:-/tmp}/goalert-provisioning-testbed}

TESTBED_HOST=127.0.0.1
POSTGRES_PORT=${POSTGRES_PORT:-55432}
GOALERT_PORT=${GOALERT_PORT:-38081}
ETCD_PORT=${ETCD_PORT:-32379}
ETCD_PEER_PORT=${ETCD_PEER_PORT:-32380}
APISERVER_PORT=${APISERVER_PORT:-36443}
GOALERT_ADMIN_USER=admin
GOALERT_ADMIN_PASSWORD=admin-password-e2e

export PATH="$TESTBED_CACHE/bin:$PATH"

log() { printf '[testbed] %s\n' "$*" >&2; }
die() { printf '[testbed] error: %s\n' "$*" >&2; exit 1; }

# Wait until a command succeeds, or fail after a bound with the given log file's tail.
wait_for() {
  local what=$1 seconds=$2 logfile=$3; shift 3
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      [ -f "$logfile" ] && tail -n 30 "$logfile" >&2
      die "$what did not become ready within ${seconds}s (log: $logfile)"
    fi
    sleep 0.5
  done
}

# Starts a long-running process in its own session so down.sh can stop its whole group.
spawn() { # name command...
  local name=$1; shift
  setsid "$@" >"$TESTBED_STATE/logs/$name.log" 2>&1 </dev/null &
  echo $! >"$TESTBED_STATE/pids/$name.pid"
}

# A GoAlert server as the testbed runs one, on the migrated database at db-url, listening on
# 127.0.0.1:port: the testbed's flags, administrator and notifier configuration. up.sh starts
# the testbed's with it, the adoption benchmark one on a generated organisation.
start_goalert_server() { # name db-url port [more goalert flags...]
  local name=$1 db_url=$2 url="http://$TESTBED_HOST:$3" listen="$TESTBED_HOST:$3"; shift 3
  goalert add-user --db-url "$db_url" --admin --user "$GOALERT_ADMIN_USER" \
    --pass "$GOALERT_ADMIN_PASSWORD" --email admin@example.com >"$TESTBED_STATE/logs/$name-add-user.log" 2>&1
  spawn "$name" goalert --db-url "$db_url" --listen "$listen" --public-url "$url" \
    --data-encryption-key e2e-testbed-key --stub-notifiers --experimental univ-keys "$@"
  wait_for "GoAlert ($name)" 60 "$TESTBED_STATE/logs/$name.log" curl -fsS "$url/health"
  # Like a production instance, with SMS, voice, e-mail and webhooks configured; the senders are
  # stubbed (--stub-notifiers), so nothing leaves the machine. The tests' extra GoAlerts use the
  # same file.
  goalert set-config --db-url "$db_url" --data-encryption-key e2e-testbed-key \
    --data "$(cat "$E2E_DIR/goalert-config.json")" >"$TESTBED_STATE/logs/$name-set-config.log" 2>&1
}
