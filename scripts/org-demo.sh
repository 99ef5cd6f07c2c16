#!/usr/bin/env bash
# The organization sync end to end against moto's AWS Organizations, with the real binary:
# an organization with accounts on and off the domain, one closed, one whose address was never
# vended, one recorded on the wrong mapping; then `mailvend org sync` and the drift report
# (`mailvend org accounts`), as printed in closing notes. Needs `make site` (the debug binary)
# and `scripts/bootstrap.sh test` (moto).
#
#   scripts/org-demo.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="${E2E_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/mailvend}"
[ -x "$bin" ] || { echo "org-demo: $bin is missing; run make site" >&2; exit 1; }
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
moto_port=$((port + 1))
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

"$root/.venv-moto/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >/dev/null 2>&1 &
pids+=($!)
export AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port" AWS_REGION=us-east-1 \
  AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export MAILVEND_DOMAIN=mail.demo.example MAILVEND_STORE="sqlite://$work/mailvend.db" \
  MAILVEND_MAILER="outbox://$work/outbox" MAILVEND_ORGANIZATIONS=on \
  MAILVEND_ORGANIZATIONS_SYNC_EVERY=off MAILVEND_LOCAL_LOGIN_TOKEN=demo-login-token-0123456789-abcdef \
  LEPTOS_SITE_ADDR="127.0.0.1:$port" RUST_LOG=error
"$bin" serve >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && curl -sf "$AWS_ENDPOINT_URL/moto-api/" >/dev/null && break
  sleep 0.2
done

org() { # org ACTION JSON: one Organizations call to moto
  curl -sf -X POST "$AWS_ENDPOINT_URL/" -H 'Content-Type: application/x-amz-json-1.1' \
    -H "X-Amz-Target: AWSOrganizationsV20161128.$1" \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/organizations/aws4_request, SignedHeaders=host, Signature=0' \
    -d "$2"
}
account() { # account NAME EMAIL: prints the new account's id
  org CreateAccount "{\"AccountName\":\"$1\",\"Email\":\"$2\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["CreateAccountStatus"]["AccountId"])'
}
token=$("$bin" token create --name demo --scope admin 2>/dev/null)
vend() { # vend APP: prints the vended address
  curl -sf -X POST "http://127.0.0.1:$port/api/v1/addresses" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' \
    -d "{\"owner\":\"team@corp.example\",\"account_type\":\"IT\",\"business_unit\":\"payments\",\"application\":\"$1\",\"environment\":\"prod\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["address"])'
}

org CreateOrganization '{"FeatureSet":"ALL"}' >/dev/null
ledger=$(vend ledger)
gateway=$(vend gateway)
wrong=$(vend wrong)
vend unused >/dev/null
account "payments-ledger-prod" "$(tr a-z A-Z <<<"$ledger")" >/dev/null
closed=$(account "payments-gateway-prod" "$gateway")
org CloseAccount "{\"AccountId\":\"$closed\"}" >/dev/null
legacy=$(account "legacy-sandbox" "legacy-sandbox@mail.demo.example")
off=$(account "data-lake-prod" "aws-data-lake@corp.example")
role=$(account "postmaster-owned" "postmaster+old@mail.demo.example")
curl -sf -X PATCH "http://127.0.0.1:$port/api/v1/addresses/$wrong" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' -d "{\"aws_account_id\":\"$off\"}" >/dev/null

echo "\$ mailvend org sync"
"$bin" org sync 2>/dev/null | python3 -m json.tool --compact
echo "\$ mailvend org accounts"
"$bin" org accounts 2>/dev/null | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
line = "{:14}{:24}{:46}{:11}{:12}{}"
print(line.format("account", "name", "root email", "state", "drift", "mapping"))
for a in rows:
    print(line.format(a["account_id"], a["name"], a["email"], a["state"], a["drift"] or "-", a["address"] or "-"))
    if a["drift_detail"]:
        print(" " * 16 + a["drift_detail"])
'
echo "\$ mailvend org adopt $role --owner team@corp.example"
"$bin" org adopt "$role" --owner team@corp.example 2>&1 | grep -v WARN || true
echo "\$ mailvend org adopt $legacy --owner team@corp.example"
"$bin" org adopt "$legacy" --owner team@corp.example 2>/dev/null | python3 -c 'import json,sys; m=json.load(sys.stdin); print(m["address"], "->", m["owner"], "linked to", m["account"]["id"])'
