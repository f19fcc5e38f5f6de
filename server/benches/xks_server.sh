# Sourced by the XKS bench scripts after setup.sh: starts one release hyok with default
# settings (SQLite, audit on; SQLITE_CACHE_KIB=N sets [db] sqlite_cache_kib) and XKS on,
# in $WORK, on port 9104 ($P: its process id),
# creates 100 Active AES-256 keys over KMIP granted to the key store ($KEYS, comma
# separated; $FIRST, the first of them), and exports the signing credentials the
# generator reads.
rm -rf data && mkdir -p data
AKID=ABCDEFGHIJKLMNOPQRST
SECRET=0123456789abcdefghijklmnopqrstuvwxyzABCDEFG
cat > hyok.toml <<CONF
[http]
port = 9104
[db]
url = "sqlite://$WORK/data/hyok.db"
${SQLITE_CACHE_KIB:+sqlite_cache_kib = $SQLITE_CACHE_KIB}
$(keystore_section "$WORK/data" hyok-xks)
[aws_xks_config]
aws_xks_enable = true
aws_xks_sigv4_access_key_id = "$AKID"
aws_xks_sigv4_secret_access_key = "$SECRET"
CONF
$H serve --config hyok.toml > out.txt 2> err.txt &
P=$!
sleep 3
export HYOK_URL=http://127.0.0.1:9104
export HYOK_TOKEN=$(grep -o 'hyok_[0-9a-f_]*' out.txt | head -1)
KEYS=""
for n in $(seq 1 100); do
  K=$($H key create --activate --quiet)
  $H access grant "$K" xks:aws get-attributes encrypt decrypt --quiet > /dev/null
  KEYS="$KEYS${KEYS:+,}$K"
done
FIRST=${KEYS%%,*}
export HYOK_XKS_ACCESS_KEY_ID=$AKID HYOK_XKS_SECRET_ACCESS_KEY=$SECRET
