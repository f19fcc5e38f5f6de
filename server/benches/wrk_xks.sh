#!/usr/bin/env bash
# Cross-check of `hyok-bench xks` with wrk: one XKS encrypt request signed once by
# botocore (server/tests/xks/signer.py) and replayed as it is (SigV4 accepts a request for
# 5 minutes), 64 connections, 10 s; wrk counts answers other than 2xx ("Non-2xx or 3xx
# responses") itself. Needs wrk (apt-get install wrk) and botocore.
#   server/benches/wrk_xks.sh URL KEY_ID      (HYOK_XKS_ACCESS_KEY_ID/SECRET_ACCESS_KEY set)
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
URL="$1" KEY="$2"
PATH_="/aws/kms/xks/v1/keys/$KEY/encrypt"
BODY='{"requestMetadata":{"awsPrincipalArn":"arn:aws:iam::111122223333:role/bench","kmsKeyArn":"arn:aws:kms:us-east-1:111122223333:key/bench","kmsOperation":"Encrypt","kmsRequestId":"wrk"},"plaintext":"WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=","encryptionAlgorithm":"AES_GCM"}'
SCRIPT="$(mktemp --suffix .lua)"
export SIGNER="$HERE/../tests/xks/signer.py"
python3 - "$URL$PATH_" "$BODY" > "$SCRIPT" <<'PY'
import json, os, subprocess, sys
url, body = sys.argv[1], sys.argv[2]
request = {"method": "POST", "url": url, "body": body,
           "headers": {"Content-Type": "application/json"},
           "access_key_id": os.environ["HYOK_XKS_ACCESS_KEY_ID"],
           "secret_access_key": os.environ["HYOK_XKS_SECRET_ACCESS_KEY"],
           "region": "us-east-1", "service": "kms-xks-proxy"}
headers = json.loads(subprocess.run([sys.executable, os.environ["SIGNER"]], input=json.dumps(request) + "\n",
                                    capture_output=True, text=True, check=True).stdout)
print('wrk.method = "POST"')
print("wrk.body = %s" % json.dumps(body))
for name, value in headers.items():
    print("wrk.headers[%s] = %s" % (json.dumps(name), json.dumps(value)))
PY
wrk -t2 -c64 -d10s --latency -s "$SCRIPT" "$URL$PATH_"
rm -f "$SCRIPT"
