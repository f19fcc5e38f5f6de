# Sourced first by the bench scripts (with $HERE set to their folder): the release hyok
# as $H (unless H names another build, to compare two), the release load generator
# (hyok-tools' hyok-bench) as $B (unless B names another), the work directory (the script's
# first argument, else a new temporary one) as $WORK and the current directory; with
# KEYSTORE=softhsm, a fresh SoftHSM2 token directory for the run (the reference
# setup; needs the softhsm2 package), else the software keystore (hyok's default).
H="${H:-$HERE/../../target/release/hyok}"
B="${B:-$HERE/../../target/release/hyok-bench}"
WORK="${1:-$(mktemp -d)}"
mkdir -p "$WORK" && cd "$WORK"
if [ "${KEYSTORE:-software}" = softhsm ]; then
  rm -rf "$WORK/softhsm" && mkdir -p "$WORK/softhsm/tokens"
  printf 'directories.tokendir = %s/softhsm/tokens\nobjectstore.backend = file\n' "$WORK" \
    > "$WORK/softhsm/softhsm2.conf"
  export SOFTHSM2_CONF="$WORK/softhsm/softhsm2.conf" HYOK_PKCS11_PIN=1234
fi

# The [keystore] section of a server whose data lives in $1 (its own token, labelled $2).
keystore_section() {
  if [ "${KEYSTORE:-software}" = softhsm ]; then
    softhsm2-util --init-token --free --label "$2" --so-pin 5678 --pin 1234 > /dev/null
    printf '[keystore]\nkind = "pkcs11"\nmodule = "/usr/lib/softhsm/libsofthsm2.so"\ntoken_label = "%s"\n' "$2"
  else
    printf '[keystore]\nfile = "%s/master.key"\n' "$1"
  fi
}

# The [kmip], [auth] and [tls] sections of a server with the KMIP port $1, trusting the
# certificates `hyok tls dev-certs certs` made in $WORK.
kmip_tls_sections() {
  printf '[kmip]\nenable = true\nport = %s\n[auth]\nauto_create_cert_users = true\n' "$1"
  printf '[tls]\ncert = "%s/certs/server.pem"\nkey = "%s/certs/server.key"\nclient_ca = "%s/certs/ca.pem"\n' \
    "$WORK" "$WORK" "$WORK"
}
