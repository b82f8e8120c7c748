#!/usr/bin/env bash
# Read speed (issue 3): GET [base]/Observation/{id} for 1,000 random ids
# under wrk (a second process on loopback), against a bare net/http handler
# returning bodies of the same mean size, in ROUNDS interleaved rounds
# (bare, node, bare, node, ...) in one run. It prints every round and the
# medians: requests/s, the ratio, and each process's CPU time per request
# (from /proc: on a shared machine the steadier figure; the bar is about
# throughput, which follows CPU per request once the cores are the limit).
#
#   bench/read.sh [DB]      DB: empty = a fresh SQLite file, the first 10 Synthea bundles ingested;
#                           an existing SQLite file = a copy of it (and of its audit file, DB.audit,
#                           if there is one), used as it is (a prepared benchmark database:
#                           docs/BENCHMARKS.md); or a postgres:// URL of an empty database
#   bench/read.sh prepare FILE                 build a prepared database: a fresh SQLite FILE (it must
#                                              not exist) with the first 10 Synthea bundles ingested
#                                              through a node, which is then stopped (FILE and FILE.audit)
#   XIETONG_BIN=/tmp/xt bench/read.sh ...      use that binary instead of building one
#   XIETONG_BIN_B=/tmp/xt-before ...           A/B: also run that binary on its own copy of DB,
#                                              interleaved (bare, A, B, bare, B, A, ...); SQLite files only
#   PORT=18080 DURATION=8s CONNECTIONS=32 ROUNDS=5   ports PORT (A), PORT+1 (bare), PORT+2 (B); wrk's settings
#
# Needs wrk (installed with apt-get if missing), curl and ../shared/synthea/r4
# (only for a fresh database).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  echo "wrk is missing: apt-get install -y wrk" >&2
  { apt-get install -y wrk || { apt-get update && apt-get install -y wrk; }; } >/dev/null 2>&1 || true
  command -v wrk >/dev/null || { echo "could not install wrk; install it (Debian/Ubuntu: apt-get install wrk)" >&2; exit 1; }
fi
tmp=$(mktemp -d)
server= serverb= barepid=
if [[ "${1:-}" == prepare ]]; then
  out=${2:?usage: bench/read.sh prepare FILE}
  [[ ! -e "$out" ]] || { echo "$out exists: give a new file" >&2; exit 1; }
fi
# The nodes run in subshells ($(start ...)): killed by pid.
trap 'kill $server $serverb $barepid $(jobs -p) 2>/dev/null || true; sleep 0.5; rm -rf "$tmp"' EXIT
src=${1:-}
dur=${DURATION:-8s}
conns=${CONNECTIONS:-32}
rounds=${ROUNDS:-5}
port=${PORT:-18080}
bport=$((port + 1))
b2port=$((port + 2))
if [[ -n "${XIETONG_BIN_B:-}" && ( -z "$src" || "$src" == postgres* ) ]]; then
  echo "XIETONG_BIN_B needs a prepared SQLite file as DB" >&2; exit 1
fi
for p in $port $bport $b2port; do
  if curl -s -o /dev/null "http://127.0.0.1:$p/"; then echo "port $p is taken: set PORT" >&2; exit 1; fi
done

# copydb SRC DST: a SQLite database and its audit file (the run's audit
# records then leave the prepared files as they were).
copydb() {
  cp "$1" "$2"
  for s in -wal .audit .audit-wal; do [[ -f "$1$s" ]] && cp "$1$s" "$2$s"; done
  return 0
}
if [[ -n "${XIETONG_BIN:-}" ]]; then
  cp "$XIETONG_BIN" "$tmp/xietong"
else
  go build -o "$tmp/xietong" ./cmd/xietong
fi

# start BIN DB PORT: a node; prints its pid.
start() {
  "$1" serve --addr "127.0.0.1:$3" --db "$2" --log-level warn >"$tmp/node-$3.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$3/healthz" >/dev/null && break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null || { echo "the node on port $3 did not start: $(cat "$tmp/node-$3.log")" >&2; exit 1; }
  echo "$pid"
}
if [[ "$src" == prepare ]]; then
  server=$(start "$tmp/xietong" "$out" "$port")
  "$tmp/xietong" bench ingest --url "http://127.0.0.1:$port/fhir" --bundles ../shared/synthea/r4 --limit 10 --floor=false | grep ingest:
  kill -TERM "$server"
  while kill -0 "$server" 2>/dev/null; do sleep 0.2; done # a graceful stop: the WAL checkpointed, the trail flushed
  server=
  echo "prepared $out ($(du -h "$out" | cut -f1)) and $out.audit"
  exit 0
fi
if [[ -z "$src" ]]; then
  db=$tmp/a.db
elif [[ "$src" == postgres* ]]; then
  db=$src
else
  copydb "$src" "$tmp/a.db"
  db=$tmp/a.db
fi
server=$(start "$tmp/xietong" "$db" "$port")
if [[ -z "$src" ]]; then
  "$tmp/xietong" bench ingest --url "http://127.0.0.1:$port/fhir" --bundles ../shared/synthea/r4 --limit 10 --floor=false | grep ingest:
fi
if [[ -n "${XIETONG_BIN_B:-}" ]]; then
  cp "$XIETONG_BIN_B" "$tmp/xietong-b"
  copydb "$src" "$tmp/b.db"
  serverb=$(start "$tmp/xietong-b" "$tmp/b.db" "$b2port")
fi

# 1000 Observation ids and their mean size.
curl -sf "http://127.0.0.1:$port/fhir/Observation?_count=1000&_elements=id" | grep -o '"fullUrl":"[^"]*"' | sed 's/.*\/fhir\///; s/"$//' > "$tmp/ids"
n=$(wc -l < "$tmp/ids")
[[ "$n" -gt 0 ]] || { echo "no Observations in the database" >&2; exit 1; }
total=0
for id in $(head -100 "$tmp/ids"); do
  s=$(curl -sf "http://127.0.0.1:$port/fhir/$id" | wc -c); total=$((total + s))
done
size=$((total / $(head -100 "$tmp/ids" | wc -l)))
"$tmp/xietong" bench bare --addr "127.0.0.1:$bport" --size "$size" &
barepid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$bport/" >/dev/null && break; sleep 0.1; done
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
# measure PID ARGS...: "req/s µs-CPU-per-request" of one wrk run against
# the process PID. The CPU window includes 1.5 s after the run: the node
# appends the last second's read records to its audit trail then.
measure() {
  local pid=$1; shift
  local t0 out n r
  t0=$(ticks "$pid")
  out=$(wrk -t1 -c"$conns" -d"$dur" --latency "$@")
  echo "$out" >> "$tmp/wrk-$pid.log"
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  r=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  if grep -q "Non-2xx" <<<"$out"; then echo "wrk saw errors: $out" >&2; exit 1; fi
  sleep 1.5
  awk -v r="$r" -v t="$(( $(ticks "$pid") - t0 ))" -v hz="$hz" -v n="$n" 'BEGIN{printf "%.0f %.1f\n", r, 1e6*t/hz/n}'
}
median() { sort -g | awk '{a[NR]=$1} END{if (NR%2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }

echo "reading $n Observations by id, mean body $size bytes; wrk -t1 -c$conns -d$dur; $rounds rounds; load average $(cut -d' ' -f1-3 /proc/loadavg)"
: > "$tmp/res"
for round in $(seq 1 "$rounds"); do
  read -r bare bcpu < <(measure "$barepid" "http://127.0.0.1:$bport/fhir/Observation/x")
  # With B, the nodes take turns at running first after the bare handler
  # (A, B in odd rounds; B, A in even ones): in an A/A run (the same
  # binary twice) under load the node that always ran second came out 13
  # points lower (median 49 % against 62 %), so a fixed order would favour A.
  bb=- bbcpu=-
  if [[ -n "$serverb" && $((round % 2)) == 0 ]]; then
    read -r bb bbcpu < <(measure "$serverb" -s "$tmp/paths.lua" "http://127.0.0.1:$b2port")
  fi
  read -r a acpu < <(measure "$server" -s "$tmp/paths.lua" "http://127.0.0.1:$port")
  if [[ -n "$serverb" && $((round % 2)) == 1 ]]; then
    read -r bb bbcpu < <(measure "$serverb" -s "$tmp/paths.lua" "http://127.0.0.1:$b2port")
  fi
  line="round $round: bare $bare req/s ($bcpu µs CPU/req); A $a req/s ($acpu µs CPU/req), $(awk -v a="$a" -v b="$bare" 'BEGIN{printf "%.1f", 100*a/b}') % of bare"
  if [[ -n "$serverb" ]]; then
    line="$line; B $bb req/s ($bbcpu µs CPU/req), $(awk -v a="$bb" -v b="$bare" 'BEGIN{printf "%.1f", 100*a/b}') % of bare"
  fi
  echo "$line (load $(cut -d' ' -f1 /proc/loadavg))"
  echo "$bare $bcpu $a $acpu $bb $bbcpu" >> "$tmp/res"
done
col() { awk -v c="$1" '{print $c}' "$tmp/res" | median; }
ratio() { awk -v c="$1" '{printf "%.4f\n", $c/$1}' "$tmp/res" | median; }
cpuratio() { awk -v c="$1" '{printf "%.4f\n", $2/$c}' "$tmp/res" | median; }
echo "median: bare $(col 1) req/s, $(col 2) µs CPU/req"
echo "median: A $(col 3) req/s, $(col 4) µs CPU/req; throughput $(awk -v x="$(ratio 3)" 'BEGIN{printf "%.1f", 100*x}') % of bare (median of the rounds' ratios); bare's CPU/req is $(awk -v x="$(cpuratio 4)" 'BEGIN{printf "%.1f", 100*x}') % of A's"
if [[ -n "$serverb" ]]; then
  echo "median: B $(col 5) req/s, $(col 6) µs CPU/req; throughput $(awk -v x="$(ratio 5)" 'BEGIN{printf "%.1f", 100*x}') % of bare; bare's CPU/req is $(awk -v x="$(cpuratio 6)" 'BEGIN{printf "%.1f", 100*x}') % of B's"
fi
echo "A's latency, last round:"
grep -A4 "Latency Distribution" "$tmp/wrk-$server.log" | tail -5
