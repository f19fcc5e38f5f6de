#!/usr/bin/env bash
# The KMIP Sign and MAC rows of docs/benchmarks.md: a release hyok (SQLite, software
# keystore, audit on) with the KMIP port, `hyok-bench kmip` at 16 TTLV/TLS connections for
# Sign RSA-2048 (PKCS#1 v1.5, SHA-256), Sign ECDSA P-256 (SHA-256) and MAC HMAC-SHA-256
# (64-byte messages), one operation per request and 16 per request (KMIP batch items),
# each beside `openssl speed -multi 2` for the same primitive, in one run.
#   cargo build --release --bin hyok --bin hyok-bench && server/benches/kmip_crypto.sh [WORKDIR]
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/setup.sh"
rm -rf server certs
$H tls dev-certs certs --client alice >/dev/null
mkdir -p server/data
cat > server/hyok.toml <<CONF
[http]
port = 9104
[db]
url = "sqlite://$WORK/server/data/hyok.db"
$(keystore_section "$WORK/server/data" hyok-crypto)
$(kmip_tls_sections 15698)
CONF
$H serve --config server/hyok.toml > server/out.txt 2> server/err.txt &
SERVER=$!
sleep 3
TLSARGS="--transport tls --address 127.0.0.1:15698 --cert certs/client-alice.pem --key certs/client-alice.key --ca certs/ca.pem"
run() { echo "== $*"; "$@"; }
for operation in sign-rsa2048 sign-ecdsa-p256 mac-hmac-sha256; do
  for batch in 1 16; do
    run $B kmip $TLSARGS --operation "$operation" --connections 16 --threads 2 --duration 10 --batch $batch --json
  done
done
kill $SERVER
wait
run openssl speed -multi 2 -seconds 10 rsa2048 2>/dev/null | grep -E '^rsa|sign/s'
run openssl speed -multi 2 -seconds 10 ecdsap256 2>/dev/null | grep -E 'nistp256|sign/s'
run openssl speed -multi 2 -seconds 10 -bytes 64 -hmac sha256 2>/dev/null | tail -2
