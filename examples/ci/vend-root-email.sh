#!/usr/bin/env bash
# Prints the root email for one account request, vending it the first time: a CI job's step.
#
# Needs: MAILVEND_API (…/api/v1), MAILVEND_TOKEN (scope vend), ACCOUNT_REQUEST_ID (the
# request's stable identity) and the request's OWNER, ACCOUNT_TYPE, BUSINESS_UNIT,
# APPLICATION, ENVIRONMENT. Needs curl and jq.
set -euo pipefail
body=$(jq -n \
  --arg owner "$OWNER" --arg type "$ACCOUNT_TYPE" --arg bu "$BUSINESS_UNIT" \
  --arg app "$APPLICATION" --arg env "$ENVIRONMENT" --arg key "ci:$ACCOUNT_REQUEST_ID" \
  '{owner: $owner, account_type: $type, business_unit: $bu, application: $app,
    environment: $env, tags: {AccountRequest: $key}, idempotency_key: $key}')
# The idempotency key makes the POST safe to retry (curl retries timeouts, 408, 429 and 5xx):
# a retry after a lost answer, or a re-run of the whole job, gets the same address.
# The token goes in through a file descriptor, not the command line, where `ps` would show it.
if ! response=$(curl --silent --show-error --fail-with-body --retry 5 --retry-connrefused \
  --max-time 30 -H @<(printf 'Authorization: Bearer %s\n' "$MAILVEND_TOKEN") \
  -H "Content-Type: application/json" --data "$body" "$MAILVEND_API/addresses"); then
  echo "mailvend refused the request: $response" >&2
  exit 1
fi
# -e: an answer without an address fails the step instead of printing "null".
jq -er .address <<<"$response"
