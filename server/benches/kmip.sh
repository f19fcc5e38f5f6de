#!/usr/bin/env bash
# The KMIP and baseline rows of docs/benchmarks.md: two release hyok servers with default
# settings (SQLite, software keystore, audit on) — plain HTTP for /kmip, TLS with the KMIP
# port — then `hyok-bench kmip` and the bare actix-web baseline, on this machine.
#   cargo build --release --bin hyok --bin hyok-bench && [KEYSTORE=softhsm] server/benches/kmip.sh [WORKDIR]
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/setup.sh"
rm -rf plain tls certs
$H tls dev-certs certs --client alice >/dev/null
mkdir -p plain/data tls/data
cat > plain/hyok.toml <<CONF
[http]
port = 9101
[db]
url = "sqlite://$WORK/plain/data/hyok.db"
$(keystore_section "$WORK/plain/data" hyok-plain)
CONF
cat > tls/hyok.toml <<CONF
[http]
port = 9102
[db]
url = "sqlite://$WORK/tls/data/hyok.db"
$(keystore_section "$WORK/tls/data" hyok-tls)
$(kmip_tls_sections 15697)
CONF
$H serve --config plain/hyok.toml > plain/out.txt 2> plain/err.txt &
P1=$!
$H serve --config tls/hyok.toml > tls/out.txt 2> tls/err.txt &
P2=$!
sleep 3
TOKEN=$(grep -o 'hyok_[0-9a-f_]*' plain/out.txt | head -1)
run() { echo "== $*" | sed -E "s/--token [^ ]+/--token …/"; "$@" --json; }
run $B kmip --transport http --url http://127.0.0.1:9101 --token "$TOKEN" --operation encrypt --connections 1 --duration 10
run $B kmip --transport http --url http://127.0.0.1:9101 --token "$TOKEN" --operation encrypt --connections 64 --duration 10
TLSARGS="--transport tls --address 127.0.0.1:15697 --cert certs/client-alice.pem --key certs/client-alice.key --ca certs/ca.pem"
run $B kmip $TLSARGS --operation encrypt --connections 1 --duration 10
run $B kmip $TLSARGS --operation encrypt --connections 64 --duration 10
run $B kmip $TLSARGS --operation create --connections 16 --duration 10
run $B kmip --transport http --url http://127.0.0.1:9101 --token "$TOKEN" --operation create --connections 16 --duration 10
kill $P1 $P2
wait
$B baseline-server --port 9103 2> /dev/null &
BASELINE=$!
sleep 1
run $B http --url http://127.0.0.1:9103/ --connections 1 --duration 10
run $B http --url http://127.0.0.1:9103/ --connections 64 --duration 10
kill $BASELINE
