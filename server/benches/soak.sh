#!/usr/bin/env bash
# Whether hyok's memory levels off under sustained XKS load: xks.sh's server (100 keys),
# then RUNS (default 60) runs of 20 s of XKS encrypt at 64 connections, each followed by
# one line: requests/s, p99, and the server's resident memory (all of it, and its
# anonymous part: the heap, as against mapped files).
#   cargo build --release --bin hyok --bin hyok-bench && [KEYSTORE=softhsm] [RUNS=N] [SQLITE_CACHE_KIB=N] \
#     server/benches/soak.sh [WORKDIR]
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/setup.sh"
. "$HERE/xks_server.sh"
kib() { awk -v field="$1:" '$1 == field { print int($2 / 1024) }' /proc/$P/status; }
echo "| run | calls | requests/s | p99 ms | RSS MiB | anonymous MiB |"
echo "|---|---|---|---|---|---|"
echo "| 0 | 0 | – | – | $(kib VmRSS) | $(kib RssAnon) |"
calls=0
for run in $(seq 1 "${RUNS:-60}"); do
  result=$($B xks --url $HYOK_URL --keys "$KEYS" --operation encrypt --connections 64 \
    --duration 20 --json)
  read -r requests rate p99 < <(python3 -c 'import json,sys; r=json.load(sys.stdin);
print(r["requests"], round(r["requests_per_second"]), r["latency_ms"]["p99"])' <<< "$result")
  calls=$((calls + requests))
  echo "| $run | $calls | $rate | $p99 | $(kib VmRSS) | $(kib RssAnon) |"
done
kill $P; wait $P 2>/dev/null
