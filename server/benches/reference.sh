#!/usr/bin/env bash
# hyok beside another XKS proxy on this machine, measured alternately by the same load
# generator: xks_server.sh's hyok (100 keys), and a reference proxy the operator started
# beforehand (for example the AWS sample proxy, aws-samples/aws-kms-xks-proxy, built
# from its own repository; this script does not build or start it). ROUNDS (default 3)
# rounds of XKS encrypt at 64 connections for 10 s, hyok then the reference, so that a
# drift of the machine's speed weighs on both.
#   cargo build --release --bin hyok --bin hyok-bench && \
#   REF_URL=http://127.0.0.1:18443 REF_PREFIX=/example/uri/path/prefix REF_KEY=bench-key \
#   REF_ACCESS_KEY_ID=… REF_SECRET_ACCESS_KEY=… [REF_SERVICE=kms-xks-proxy] [REF_REGION=us-east-1] \
#   [KEYSTORE=softhsm] [ROUNDS=N] server/benches/reference.sh [WORKDIR]
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/setup.sh"
. "$HERE/xks_server.sh"
run() { echo "== $1"; shift; "$@" --operation encrypt --connections 64 --duration 10 --json; }
for round in $(seq 1 "${ROUNDS:-3}"); do
  run "hyok, round $round" $B xks --url "$HYOK_URL" --keys "$KEYS"
  run "reference, round $round" env HYOK_XKS_ACCESS_KEY_ID="$REF_ACCESS_KEY_ID" \
    HYOK_XKS_SECRET_ACCESS_KEY="$REF_SECRET_ACCESS_KEY" $B xks --url "$REF_URL" \
    --prefix "$REF_PREFIX" --keys "$REF_KEY" --service "${REF_SERVICE:-kms-xks-proxy}" \
    --region "${REF_REGION:-us-east-1}"
done
kill $P; wait $P 2>/dev/null
