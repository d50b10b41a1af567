#!/usr/bin/env bash
# Builds every testbed binary from the Go module proxy (or takes it from Debian), once per pinned
# version. A second run finds them in the cache and returns in a second.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mkdir -p "$TESTBED_CACHE/bin"
export CGO_ENABLED=0 GOFLAGS=-trimpath

# A binary's cache name includes a hash of its wrapper module (go.mod, go.sum and any Go source of
# its own) and link flags, so editing one of them or a flag rebuilds it.
cached_name() { # tool-dir binary version [ldflags]
  local digest
  digest=$( (cat "$E2E_DIR/tools/$1/go.mod" "$E2E_DIR/tools/$1/go.sum"; echo "${4:-}"
    cat "$E2E_DIR/tools/$1"/*.go 2>/dev/null || true) | sha256sum | cut -c1-12)
  echo "$TESTBED_CACHE/bin/$2-$3-$digest"
}

build() { # tool-dir binary version package [ldflags]
  local target
  target=$(cached_name "$1" "$2" "$3" "${5:-}")
  if [ ! -x "$target" ]; then
    log "building $2 $3 (first time only; cached in $TESTBED_CACHE)"
    (cd "$E2E_DIR/tools/$1" && go build -ldflags "-s -w ${5:-}" -o "$target.tmp" "$4")
    mv "$target.tmp" "$target"
  fi
  ln -sf "$target" "$TESTBED_CACHE/bin/$2"
}

# A main package of a module, built with the wrapper module's go.mod from a copy of its files
# taken out of Go's module cache: GoAlert's data generator (devtools/resetdb) is a main package
# of the GoAlert module, which cannot be imported and, with its replace line, not `go install`ed.
build_copied() { # tool-dir binary version module package-dir
  local target work source
  target=$(cached_name "$1" "$2" "$3")
  if [ ! -x "$target" ]; then
    log "building $2 from $4@$3 $5 (first time only; cached in $TESTBED_CACHE)"
    work=$(mktemp -d)
    cp "$E2E_DIR/tools/$1/go.mod" "$E2E_DIR/tools/$1/go.sum" "$work/"
    source=$(cd "$work" && go mod download -json "$4@$3" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
    [ -d "$source/$5" ] || die "no $5 in $4@$3 (module at ${source:-?})"
    cp "$source/$5"/*.go "$work/"
    rm -f "$work"/*_test.go
    (cd "$work" && go build -ldflags "-s -w" -o "$target.tmp" .)
    mv "$target.tmp" "$target"
    rm -rf "$work"
  fi
  ln -sf "$target" "$TESTBED_CACHE/bin/$2"
}

# PostgreSQL, and the tools the scripts use, from Debian's packages.
need_debian_packages() {
  local missing=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  command -v curl >/dev/null || missing+=(curl)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v tmux >/dev/null || missing+=(tmux)
  command -v lua5.4 >/dev/null || missing+=(lua5.4)
  if ((${#missing[@]})); then
    log "installing ${missing[*]} from Debian packages"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

kube_minor() { local minor=${KUBERNETES_VERSION#v1.}; echo "${minor%%.*}"; }

kube_ldflags() {
  local v=$KUBERNETES_VERSION minor
  minor=$(kube_minor)
  local f
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    f+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    f+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$f"
}

# GoAlert with its web UI (e2e/tools/goalert-web), built from the UI's sources in GoAlert's module
# with bun and esbuild: only when asked (GOALERT_WEB_UI=1, which e2e/demo.sh sets), as it takes
# up to 10 minutes. Once it is cached, every testbed runs it in place of the API-only build.
goalert_web_name() {
  local digest
  digest=$( (cd "$E2E_DIR/tools" && cat goalert/go.mod goalert/go.sum goalert/main.go \
    goalert-web/build.sh goalert-web/bun/package.json goalert-web/bun/package-lock.json) | sha256sum | cut -c1-12)
  echo "$TESTBED_CACHE/bin/goalert-web-$GOALERT_VERSION-$digest"
}

need_debian_packages
goalert_web=$(goalert_web_name)
if [ "${GOALERT_WEB_UI:-0}" = 1 ] && [ ! -x "$goalert_web" ]; then
  command -v npm >/dev/null || die "GoAlert's web UI needs Node.js and npm (Debian: apt-get install nodejs npm)"
  log "building GoAlert $GOALERT_VERSION with its web UI (first time only, up to 10 minutes; cached in $TESTBED_CACHE)"
  started=$SECONDS
  "$E2E_DIR/tools/goalert-web/build.sh" "$goalert_web.tmp"
  mv "$goalert_web.tmp" "$goalert_web"
  log "built GoAlert with its web UI in $(((SECONDS - started) / 60)) min $(((SECONDS - started) % 60)) s"
fi
if [ -x "$goalert_web" ]; then
  ln -sf "$goalert_web" "$TESTBED_CACHE/bin/goalert"
else
  build goalert goalert "$GOALERT_VERSION" .
fi
build_copied resetdb resetdb "$GOALERT_VERSION" github.com/target/goalert devtools/resetdb
build etcd etcd "$ETCD_VERSION" go.etcd.io/etcd/server/v3 \
  "-X go.etcd.io/etcd/api/v3/version.GitSHA=${ETCD_VERSION}"
for cmd in kube-apiserver kube-controller-manager kubectl; do
  build kubernetes "$cmd" "$KUBERNETES_VERSION" "k8s.io/kubernetes/cmd/$cmd" "$(kube_ldflags)"
done
# Without a cluster (helm template) helm assumes the Kubernetes version compiled into it: the
# testbed's, as helm's own Makefile sets it.
helm_ldflags="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
  helm_ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$(kube_minor)"
done
build helm helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm "$helm_ldflags"
build prometheus promtool "$PROMETHEUS_VERSION" github.com/prometheus/prometheus/cmd/promtool \
  "-X github.com/prometheus/common/version.Version=${PROMETHEUS_VERSION}"
build kstatus kstatus "$CLI_UTILS_VERSION" .
log "all testbed binaries are in $TESTBED_CACHE/bin"
