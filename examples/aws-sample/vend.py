"""The AWS sample's vend call pointed at mailvend: the same payload, over HTTPS with a token.

Before (the sample's Lambda, invoked directly):

    reply = lambda_client.invoke(FunctionName="account-email-vending", Payload=json.dumps(payload))
    result = json.loads(reply["Payload"].read())

After: `vend(payload)` below. The reply keeps the sample's `AccountName`, `AccountEmail` and
`AccountType`; usage: MAILVEND_API=… MAILVEND_TOKEN=… python3 vend.py vend-request.json
"""

import json
import os
import sys
import urllib.error
import urllib.request


def vend(payload: dict) -> dict:
    request = urllib.request.Request(
        os.environ["MAILVEND_API"] + "/vend",
        data=json.dumps(payload).encode(),
        headers={
            "Authorization": "Bearer " + os.environ["MAILVEND_TOKEN"],
            "Content-Type": "application/json",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.load(reply)
    except urllib.error.HTTPError as e:
        sys.exit(f"mailvend answered {e.code}: {e.read().decode()}")


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        result = vend(json.load(f))
    print(json.dumps(result, indent=2))
