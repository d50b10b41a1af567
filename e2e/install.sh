#!/usr/bin/env bash
# Builds every testbed binary from the Go module proxy (or takes it from Debian), once per pinned
# version. A second run finds them in the cache and returns in a second.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mkdir -p "$TESTBED_CACHE/bin"
export CGO_ENABLED=0 GOFLAGS=-trimpath

# A binary's cache name includes a hash of its wrapper module, so editing go.mod rebuilds it.
cached_name() { # tool-dir binary version
  local digest
  digest=$(cat "$E2E_DIR/tools/$1/go.mod" "$E2E_DIR/tools/$1/go.sum" | sha256sum | cut -c1-12)
  echo "$TESTBED_CACHE/bin/$2-$3-$digest"
}

build() { # tool-dir binary version package [ldflags]
  local target
  target=$(cached_name "$1" "$2" "$3")
  if [ ! -x "$target" ]; then
    log "building $2 $3 (first time only; cached in $TESTBED_CACHE)"
    (cd "$E2E_DIR/tools/$1" && go build -ldflags "-s -w ${5:-}" -o "$target.tmp" "$4")
    mv "$target.tmp" "$target"
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

kube_ldflags() {
  local v=$KUBERNETES_VERSION minor
  minor=${v#v1.}; minor=${minor%%.*}
  local f
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    f+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    f+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$f"
}

need_debian_packages
build goalert goalert "$GOALERT_VERSION" .
build etcd etcd "$ETCD_VERSION" go.etcd.io/etcd/server/v3 \
  "-X go.etcd.io/etcd/api/v3/version.GitSHA=${ETCD_VERSION}"
for cmd in kube-apiserver kube-controller-manager kubectl; do
  build kubernetes "$cmd" "$KUBERNETES_VERSION" "k8s.io/kubernetes/cmd/$cmd" "$(kube_ldflags)"
done
build helm helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm \
  "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
build prometheus promtool "$PROMETHEUS_VERSION" github.com/prometheus/prometheus/cmd/promtool \
  "-X github.com/prometheus/common/version.Version=${PROMETHEUS_VERSION}"
log "all testbed binaries are in $TESTBED_CACHE/bin"
