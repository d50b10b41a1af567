#!/usr/bin/env bash
# Builds GoAlert with its web UI from the GoAlert Go module's own sources, as GoAlert's Makefile
# does with BUNDLE=1: bun installs the UI's dependencies from GoAlert's lockfile, esbuild bundles
# the UI into web/src/build (which GoAlert embeds), then `go build` compiles the server from that
# copy of the module. The module zip on the Go module proxy has the UI's sources but not the
# bundle, so the testbed's usual GoAlert (e2e/tools/goalert) serves the API only.
# Usage: build.sh OUTPUT (run by e2e/install.sh for the demo; about 1 minute, 8 with a cold
# Go build cache, on 2 busy cores; the binary is the same byte for byte on each run).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../lib.sh"

out=$(realpath -m "$1")
here=$E2E_DIR/tools/goalert-web
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

# GoAlert's module, in a writable copy: the build writes node_modules and web/src/build into it.
# The wrapper module is the testbed's API-only GoAlert (same go.mod, go.sum and main.go), with
# GoAlert itself replaced by that copy.
cp "$E2E_DIR/tools/goalert/go.mod" "$E2E_DIR/tools/goalert/go.sum" "$E2E_DIR/tools/goalert/main.go" "$work/"
module=$(cd "$work" && go mod download -json "github.com/target/goalert@$GOALERT_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -f "$module/bun.lock" ] || die "no bun.lock in github.com/target/goalert@$GOALERT_VERSION (module at ${module:-?})"
cp -r "$module" "$work/src"
chmod -R u+w "$work/src"
src=$work/src

# bun, the version GoAlert pins in bun.version, from the npm registry; bun/package-lock.json pins
# the package and its platform binaries by hash.
mkdir "$work/bun"
cp "$here/bun/package.json" "$here/bun/package-lock.json" "$work/bun/"
(cd "$work/bun" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
bun=$work/bun/node_modules/.bin/bun
[ "$("$bun" --version)" = "$(cat "$src/bun.version")" ] ||
  die "bun $("$bun" --version) is not the $(cat "$src/bun.version") GoAlert pins: update e2e/tools/goalert-web/bun/"

# @types/k6 1.3.0 (types for GoAlert's load tests, not part of the UI) is not on the npm registry
# (it answers 404), so it comes out of package.json and, to keep the install frozen, bun.lock.
for file in package.json bun.lock; do
  grep -q '"@types/k6"' "$src/$file" || die "no @types/k6 in GoAlert's $file: revisit this step"
  sed -i '/^ *"@types\/k6": /d' "$src/$file"
done
# Exactly what bun.lock records, or fail. No lifecycle scripts: the UI's bundle needs none, and
# Cypress's would download its test runner from the internet.
(cd "$src" && "$bun" install --frozen-lockfile --ignore-scripts --no-progress >/dev/null)

# The bundle, as GoAlert's Makefile makes web/src/build/static/app.js.
static=$src/web/src/build/static
mkdir -p "$static"
cp "$src"/web/src/app/public/icons/favicon-* "$src"/web/src/app/public/logos/lightmode_* \
  "$src"/web/src/app/public/logos/darkmode_* "$src/web/src/app/public/logos/goalert-alt-logo.png" "$static/"
# (The Makefile's `bun run esbuild` runs the script by its `#!/usr/bin/env node` line; files from a
# module zip are not executable, so node runs it by name.)
(cd "$src" && GOALERT_VERSION=$GOALERT_VERSION node web/src/esbuild.config.js --prod)
head -c 64 "$static/app.js" | grep -q "^var GOALERT_VERSION=\"$GOALERT_VERSION\";" ||
  die "web/src/build/static/app.js does not start with GoAlert's version banner"

# With the version compiled in, GoAlert checks at start that the embedded app.js carries it.
(cd "$work" && go mod edit -replace "github.com/target/goalert=./src" &&
  go build -ldflags "-s -w -X github.com/target/goalert/version.gitVersion=$GOALERT_VERSION -X github.com/target/goalert/version.gitTreeState=clean" \
    -o "$out" .)
