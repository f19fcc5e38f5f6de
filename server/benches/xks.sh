#!/usr/bin/env bash
# XKS rows measured with the lean load generator: one release hyok with default settings
# (SQLite, software keystore, audit on), XKS on, 100 Active AES-256 keys created over KMIP
# and granted to the key store, then `hyok-bench xks` and the bare baseline, same machine.
#   cargo build --release --bin hyok --bin hyok-bench && [KEYSTORE=softhsm] server/benches/xks.sh [WORKDIR]
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/setup.sh"
. "$HERE/xks_server.sh"
# The command without its key list, then its JSON result.
run() { echo "== $*" | sed -E 's/--keys [^ ]+/--keys …/'; "$@" --json; }
run $B xks --url $HYOK_URL --keys "$FIRST" --operation encrypt --connections 1 --duration 10
run $B xks --url $HYOK_URL --keys "$KEYS" --operation encrypt --connections 64 --duration 10
run $B xks --url $HYOK_URL --keys "$KEYS" --operation decrypt --connections 64 --duration 10
run $B xks --url $HYOK_URL --keys "$KEYS" --operation metadata --connections 64 --duration 10
echo "== wrk replaying one botocore-signed encrypt, 64 connections"
"$HERE/wrk_xks.sh" "$HYOK_URL" "$FIRST"
kill $P; wait $P 2>/dev/null
$B baseline-server --port 9105 2> /dev/null &
BASELINE=$!
sleep 1
run $B http --url http://127.0.0.1:9105/ --connections 1 --duration 10
run $B http --url http://127.0.0.1:9105/ --connections 64 --duration 10
echo "== wrk on the bare handler, 64 connections"
echo 'wrk.method = "POST"' > "$WORK/post.lua"
wrk -t2 -c64 -d10s --latency -s "$WORK/post.lua" http://127.0.0.1:9105/
kill $BASELINE
