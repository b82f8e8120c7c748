#!/usr/bin/env bash
# Interoperability scenario: drives a fresh Xietong node with two real FHIR
# client libraries from npm (fhir-kit-client, fhirclient) plus plain fetch
# for HTTP-level details. Prints one line per check and a closing line
# "N passed, M failed"; exits non-zero when any check fails.
#
#   bench/clients/run.sh                 # from anywhere inside the repository
#
# Environment:
#   XT_CLIENTS_NPM_DIR   reuse a folder where the two packages are already
#                        installed (default: a fresh temporary folder; the
#                        install takes a minute or two)
#   XT_CLIENTS_KEEP=1    keep the temporary folder (server log, database)
#
# Nothing is written inside the repository: binary, node_modules, database
# and log all live in a temporary folder that is removed at exit.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xt-clients.XXXXXX")
pid=""
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	if [ "${XT_CLIENTS_KEEP:-}" = 1 ]; then
		echo "kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT

echo "# building the server" >&2
(cd "$repo" && go build -o "$tmp/xietong" ./cmd/xietong)

npmdir=${XT_CLIENTS_NPM_DIR:-}
if [ -z "$npmdir" ]; then
	npmdir="$tmp/npm"
	mkdir -p "$npmdir"
	echo "# installing fhir-kit-client and fhirclient into $npmdir" >&2
	(cd "$npmdir" && npm init -y >/dev/null &&
		npm install --no-audit --no-fund --loglevel=error fhir-kit-client fhirclient >&2)
fi

port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
base="http://127.0.0.1:$port/fhir"
"$tmp/xietong" serve --addr "127.0.0.1:$port" --db "$tmp/interop.db" --log-level warn >"$tmp/server.log" 2>&1 &
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

status=0
XT_BASE="$base" XT_NPM_DIR="$npmdir" XT_SHARED="${XT_SHARED:-$repo/../shared}" \
	node "$here/scenario.mjs" || status=$?
if grep -q 'level=ERROR' "$tmp/server.log"; then
	echo "# server logged errors:" >&2
	grep 'level=ERROR' "$tmp/server.log" | head -20 >&2
fi
exit "$status"
