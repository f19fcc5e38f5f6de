#!/usr/bin/env python3
"""An independent SigV4 signer for hyok's XKS tests: botocore's, as AWS SDKs use it.

Reads one JSON request per line on stdin and writes the headers to send, as one JSON
object per line on stdout. Fields: method, url, body, headers (signed as given),
access_key_id, secret_access_key, region, service, skew_seconds (sign as if the clock
were that far off).
"""
import datetime
import json
import sys

import botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

_real_now = botocore.auth.get_current_datetime


def sign(request):
    skew = datetime.timedelta(seconds=request.get("skew_seconds", 0))
    botocore.auth.get_current_datetime = lambda: _real_now() + skew
    aws_request = AWSRequest(
        method=request["method"],
        url=request["url"],
        data=request["body"].encode(),
        headers=request.get("headers", {}),
    )
    credentials = Credentials(request["access_key_id"], request["secret_access_key"])
    SigV4Auth(credentials, request["service"], request["region"]).add_auth(aws_request)
    return dict(aws_request.headers.items())


def main():
    for line in sys.stdin:
        print(json.dumps(sign(json.loads(line))), flush=True)


if __name__ == "__main__":
    main()
