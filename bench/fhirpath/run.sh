#!/usr/bin/env bash
# Compares the Go FHIRPath engine with HL7's fhirpath.js on the same
# workload: every R4 SearchParameter expression evaluated, for its base
# resource types, over every resource of the Synthea bundles.
#
#   bench/fhirpath/run.sh            # all 103 bundles
#   BUNDLES=10 bench/fhirpath/run.sh # the first 10 bundles
#   PASSES=3 ...                     # timed passes per engine (default 2)
#
# fhirpath.js is installed from npm into a temporary folder that is
# removed afterwards (never committed).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
shared="${SHARED:-$root/../shared}"
bundles="${BUNDLES:-0}"
passes="${PASSES:-2}"
fhirpath_js_version="${FHIRPATH_JS_VERSION:-5.2.2}"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "installing fhirpath@$fhirpath_js_version into $tmp ..." >&2
(cd "$tmp" && npm init -y >/dev/null 2>&1 && npm install --silent --no-audit --no-fund "fhirpath@$fhirpath_js_version" >/dev/null 2>&1)

NODE_PATH="$tmp/node_modules" node --max-old-space-size=8192 "$here/bench.js" \
  --shared "$shared" --out "$tmp/js.json" --bundles "$bundles" --passes "$passes"

cd "$root"
go run ./bench/fhirpath -shared "$shared" -js "$tmp/js.json" -bundles "$bundles" -passes "$passes"
