#!/usr/bin/env bash
# Read speed: GET [base]/Observation/{id} for random ids under wrk load,
# against a bare net/http handler returning bodies of the same mean size,
# measured alternately in one run on this machine. Needs wrk (apt-get
# install wrk) and ../shared/synthea/r4.
#
#   bench/read.sh [DB]      DB: empty = a fresh SQLite file, the first 10 Synthea bundles ingested;
#                           an existing SQLite file = a copy of it, used as it is (a prepared
#                           benchmark database: see docs/BENCHMARKS.md); or a postgres:// URL
#                           of an empty database
#   XIETONG_BIN=/tmp/xt bench/read.sh ...   use that binary instead of building one
#   PORT=18080 DURATION=10s CONNECTIONS=32                 the node's port (the bare handler's is PORT+1), wrk's settings
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
db=${1:-$tmp/read.db}
dur=${DURATION:-10s}
conns=${CONNECTIONS:-32}
port=${PORT:-18080} # the node; the bare handler listens on port+1
bport=$((port + 1))
prepared=
if [[ "$db" != postgres* && -f "$db" ]]; then
  # A copy, so that the run's audit records leave the prepared file as it was.
  cp "$db" "$tmp/read.db"
  db=$tmp/read.db
  prepared=1
fi
if [[ -n "${XIETONG_BIN:-}" ]]; then
  cp "$XIETONG_BIN" "$tmp/xietong"
else
  go build -o "$tmp/xietong" ./cmd/xietong
fi
for p in $port $bport; do
  if curl -s -o /dev/null "http://127.0.0.1:$p/"; then echo "port $p is taken: set PORT" >&2; exit 1; fi
done
"$tmp/xietong" serve --addr 127.0.0.1:$port --db "$db" --log-level warn &
server=$!
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.1; done
kill -0 "$server" 2>/dev/null || { echo "the node did not start (port $port taken? set PORT)" >&2; exit 1; }
if [[ -z "$prepared" ]]; then
  "$tmp/xietong" bench ingest --url http://127.0.0.1:$port/fhir --bundles ../shared/synthea/r4 --limit 10 --floor=false | grep ingest:
fi

# 1000 Observation ids and their mean size.
curl -sf "http://127.0.0.1:$port/fhir/Observation?_count=1000&_elements=id" | grep -o '"fullUrl":"[^"]*"' | sed 's/.*\/fhir\///; s/"$//' > "$tmp/ids"
n=$(wc -l < "$tmp/ids")
total=0
for id in $(head -100 "$tmp/ids"); do
  s=$(curl -sf "http://127.0.0.1:$port/fhir/$id" | wc -c); total=$((total + s))
done
size=$((total / 100))
echo "reading $n Observations by id, mean body $size bytes; wrk -t1 -c$conns -d$dur"
"$tmp/xietong" bench bare --addr 127.0.0.1:$bport --size "$size" &
barepid=$!
for _ in $(seq 1 100); do curl -sf http://127.0.0.1:$bport/ >/dev/null && break; sleep 0.1; done
kill -0 "$barepid" 2>/dev/null || { echo "the bare handler did not start (port $bport taken? set PORT)" >&2; exit 1; }

{ echo "paths = {"; sed 's/.*/"\/fhir\/&",/' "$tmp/ids"; echo "}"; cat <<'LUA'
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
LUA
} > "$tmp/paths.lua"

# CPU time (user + system, in clock ticks) a process has used so far.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# rps PID ARGS...: requests/s of a wrk run, and the CPU the server PID
# spent per request in it (µs): on a machine shared with other work the
# steadier figure.
rps() {
  local pid=$1; shift
  local t0 out n
  t0=$(ticks "$pid")
  out=$(wrk -t1 -c"$conns" -d"$dur" --latency "$@" | tee -a "$tmp/wrk.log")
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  sleep 1.5 # the audit trail of the last reads is appended within a second
  awk -v r="$(awk '/Requests\/sec/ {print $2}' <<<"$out")" -v t="$(( $(ticks "$pid") - t0 ))" -v hz="$hz" -v n="$n" \
    'BEGIN{printf "%.0f %.1f\n", r, 1e6*t/hz/n}'
}
for round in 1 2; do
  read -r bare bcpu < <(rps "$barepid" http://127.0.0.1:$bport/fhir/Observation/x)
  read -r fhir fcpu < <(rps "$server" -s "$tmp/paths.lua" http://127.0.0.1:$port)
  echo "round $round: bare handler $bare req/s ($bcpu µs CPU/request), xietong read $fhir req/s ($fcpu µs CPU/request), ratio $(awk -v a="$fhir" -v b="$bare" 'BEGIN{printf "%.1f%%", 100*a/b}') (CPU per request: $(awk -v a="$fcpu" -v b="$bcpu" 'BEGIN{printf "%.1f%%", 100*b/a}') of the bare handler's throughput per core)"
done
grep -A4 "Latency Distribution" "$tmp/wrk.log" | tail -5
