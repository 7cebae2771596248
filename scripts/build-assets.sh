#!/usr/bin/env bash
# Build the front-end assets the web pages need, into src/fairdebt/web/static/govuk/ (gitignored):
#   application.css         GOV.UK Frontend 6.3.0 compiled with Arial (no GDS Transport fonts)
#                           plus fairdebt's own styles, from src/fairdebt/web/assets/application.scss
#   govuk-frontend.min.js   GOV.UK Frontend's JavaScript (an ES module; base.html imports it)
#   assets/images/, assets/manifest.json
#
# Idempotent and quick when nothing changed: the inputs (package-lock.json, the Sass sources and
# this script) are hashed into a stamp file, and the build is skipped when the stamp matches.
# Usage: scripts/build-assets.sh [--force]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SELF="$ROOT/scripts/$(basename "${BASH_SOURCE[0]}")"
cd "$ROOT"

OUT="src/fairdebt/web/static/govuk"
SCSS_DIR="src/fairdebt/web/assets"
STAMP="$OUT/.build-stamp"
GOVUK="node_modules/govuk-frontend/dist/govuk"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

command -v node >/dev/null || { echo "build-assets: node is not installed (apt-get install nodejs npm)" >&2; exit 1; }
command -v npm >/dev/null || { echo "build-assets: npm is not installed (apt-get install npm)" >&2; exit 1; }

mkdir -p "$OUT"
# One build at a time (make -j, or tests and the demo starting together).
exec 9>"$OUT/.build-lock"
flock 9

inputs_hash() {
    {
        cat package.json
        [[ -f package-lock.json ]] && cat package-lock.json
        cat "$SELF"
        find "$SCSS_DIR" -type f -name '*.scss' -print0 | sort -z | xargs -0 cat
    } | sha256sum | cut -d' ' -f1
}

HASH="$(inputs_hash)"
if [[ $FORCE == 0 && -f "$STAMP" && "$(cat "$STAMP")" == "$HASH" \
      && -s "$OUT/application.css" && -s "$OUT/govuk-frontend.min.js" && -d "$OUT/assets/images" ]]; then
    exit 0
fi

# 1. Node packages (exact pins in package.json / package-lock.json). --ignore-scripts: nothing we
#    use needs an install script (sass is pure JavaScript; @parcel/watcher is optional, for --watch).
if [[ -f package-lock.json ]]; then
    if [[ $FORCE == 1 || ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json \
          || ! -d "$GOVUK" || ! -x node_modules/.bin/sass ]]; then
        npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
    fi
else
    npm install --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null
fi

# 2. Sass -> CSS. Written to a temporary file and renamed, so a running server never serves half a file.
TMP="$(mktemp -d "$OUT/.build.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
node_modules/.bin/sass --pkg-importer=node --style=compressed --no-source-map --quiet-deps \
    "$SCSS_DIR/application.scss" "$TMP/application.css"
if grep -q "GDS Transport\|@font-face" "$TMP/application.css"; then
    echo "build-assets: application.css still refers to GDS Transport; check the @use ... with in application.scss" >&2
    exit 1
fi

# 3. JavaScript and images (not the GDS Transport fonts: they are only licensed for GOV.UK).
cp "$GOVUK/govuk-frontend.min.js" "$TMP/govuk-frontend.min.js"
mkdir -p "$TMP/assets"
cp -R "$GOVUK/assets/images" "$TMP/assets/images"
cp "$GOVUK/assets/manifest.json" "$TMP/assets/manifest.json"

mv -f "$TMP/application.css" "$OUT/application.css"
mv -f "$TMP/govuk-frontend.min.js" "$OUT/govuk-frontend.min.js"
rm -rf "$OUT/assets"
mv "$TMP/assets" "$OUT/assets"
echo "$HASH" >"$STAMP"
echo "build-assets: built $OUT ($(wc -c <"$OUT/application.css") bytes of CSS)"
