#!/usr/bin/env bash
# The Locate rows of docs/benchmarks.md: a release hyok (software keystore, audit on) with
# the KMIP port and OBJECTS objects (default 1 000 000): 1 000 AES keys created through
# KMIP (PreActive, unnamed), the rest copies of one of them made in SQL (the database's
# triggers index them as they index every write), each copy carrying the custom attribute
# x-hyok-bench-run with one of 1 000 values. Then `hyok-bench kmip` at 4 TTLV/TLS
# connections for Locate by Name, by Object Type + State and by x-hyok-bench-run, each
# matching the 10 Active keys a run adds (named, with their own x-hyok-bench-run value).
# Once on SQLite, once on PostgreSQL (DATABASE_URL, default
# postgres://postgres@127.0.0.1:5432/hyok_locate_bench, dropped and created again);
# ENGINES="sqlite" (or "postgres") for one of them.
#   cargo build --release --bin hyok --bin hyok-bench && [OBJECTS=N] [ENGINES=…] server/benches/locate.sh [WORKDIR]
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/setup.sh"
OBJECTS="${OBJECTS:-1000000}"
PG_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/hyok_locate_bench}"
rm -rf certs && $H tls dev-certs certs --client alice >/dev/null
TLSARGS="--transport tls --address 127.0.0.1:15699 --cert certs/client-alice.pem --key certs/client-alice.key --ca certs/ca.pem"
run() { echo "== $*"; "$@"; }
for engine in ${ENGINES:-sqlite postgres}; do
  rm -rf server && mkdir -p server/data
  if [ "$engine" = sqlite ]; then
    url="sqlite://$WORK/server/data/hyok.db"
  else
    psql -q "${PG_URL%/*}/postgres" -c "DROP DATABASE IF EXISTS ${PG_URL##*/}" -c "CREATE DATABASE ${PG_URL##*/}"
    url="$PG_URL"
  fi
  printf '[http]\nport = 9105\n[db]\nurl = "%s"\n%s\n%s\n' "$url" \
    "$(keystore_section "$WORK/server/data" hyok-locate)" "$(kmip_tls_sections 15699)" > server/hyok.toml
  $H serve --config server/hyok.toml > server/out.txt 2> server/err.txt &
  SERVER=$!
  sleep 3
  echo "== $engine: 1 000 keys through KMIP, then $((OBJECTS - 1000)) copies in SQL"
  $B kmip $TLSARGS --operation create --batch 500 --requests 2 --connections 1 --keys 1 --json
  kill $SERVER
  wait $SERVER
  copies=$((OBJECTS - 1000))
  started=$(date +%s)
  if [ "$engine" = sqlite ]; then
    sqlite3 server/data/hyok.db "PRAGMA busy_timeout = 10000;
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $copies)
      INSERT INTO objects (uid, object_type, state, owner, wrapped, attributes, chain_id,
                           chain_version, row_version, wrap_key_version, created_at, updated_at)
      SELECT printf('fill-%08d', n.i), s.object_type, s.state, s.owner, s.wrapped,
             json_set(s.attributes, '\$.kmip', json_array(json_object('tag', 'Attribute', 'type', 'Structure', 'value', json_array(
               json_object('tag', 'VendorIdentification', 'type', 'TextString', 'value', 'x'),
               json_object('tag', 'AttributeName', 'type', 'TextString', 'value', 'hyok-bench-run'),
               json_object('tag', 'AttributeValue', 'type', 'TextString', 'value', 'filler-' || (n.i % 1000)))))),
             printf('fill-%08d', n.i), 1, 1, s.wrap_key_version, s.created_at - n.i, s.updated_at
      FROM n, (SELECT * FROM objects WHERE state = 'PreActive' LIMIT 1) s;
      ANALYZE;" || exit 1
  else
    psql -q -v ON_ERROR_STOP=1 "$PG_URL" -c "
      INSERT INTO objects (uid, object_type, state, owner, wrapped, attributes, chain_id,
                           chain_version, row_version, wrap_key_version, created_at, updated_at)
      SELECT 'fill-' || lpad(i::text, 8, '0'), s.object_type, s.state, s.owner, s.wrapped,
             jsonb_set(s.attributes::jsonb, '{kmip}', jsonb_build_array(jsonb_build_object('tag', 'Attribute', 'type', 'Structure', 'value', jsonb_build_array(
               jsonb_build_object('tag', 'VendorIdentification', 'type', 'TextString', 'value', 'x'),
               jsonb_build_object('tag', 'AttributeName', 'type', 'TextString', 'value', 'hyok-bench-run'),
               jsonb_build_object('tag', 'AttributeValue', 'type', 'TextString', 'value', 'filler-' || (i % 1000))))))::text,
             'fill-' || lpad(i::text, 8, '0'), 1, 1, s.wrap_key_version, s.created_at - i, s.updated_at
      FROM generate_series(1, $copies) i, (SELECT * FROM objects WHERE state = 'PreActive' LIMIT 1) s;" \
      -c "ANALYZE" || exit 1
  fi
  if [ "$engine" = sqlite ]; then
    objects=$(sqlite3 server/data/hyok.db 'SELECT count(*) FROM objects')
  else
    objects=$(psql -At "$PG_URL" -c 'SELECT count(*) FROM objects')
  fi
  echo "copied in $(( $(date +%s) - started )) s; $objects objects"
  $H serve --config server/hyok.toml > server/out.txt 2> server/err.txt &
  SERVER=$!
  sleep 3
  for operation in locate locate-type-state locate-custom; do
    run $B kmip $TLSARGS --operation "$operation" --connections 4 --threads 2 --duration 10 --json
  done
  kill $SERVER
  wait $SERVER
done
