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
