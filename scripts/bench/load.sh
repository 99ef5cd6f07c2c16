#!/usr/bin/env bash
# The load benchmarks of docs/benchmarks.md, each against a fresh release server on loopback
# with load from a second process (the loadgen example):
#   sns-sqlite   POST /sns, 10 KB messages, SQLite store, outbox mailer
#   sns-dynamodb the same with the DynamoDB store on a local moto server (moto's speed, not AWS's)
#   vend         POST /api/v1/addresses from 64 clients, SQLite; zero duplicates required
#   mixed        60 s of webhook + dashboard + API at once; zero errors, flat memory (make soak)
#   s3-memory    8 messages of 40 MB stored in S3 (moto), each notification delivered twice at
#                once and retried on 503 as SNS would: the server's peak RSS (VmHWM), the 503s,
#                and every message forwarded once. BUDGET_MB sets MAILVEND_INBOUND_BUDGET_MB.
#
#   scripts/bench/load.sh [sns-sqlite|sns-dynamodb|vend|mixed ...]   (default: the first three)
# Knobs: MESSAGES (20000), MESSAGES_DYNAMODB (3000), CONCURRENCY (8), VENDS (20000), SECONDS_MIXED (60),
#        BUDGET_MB (128), S3_MESSAGES (8), S3_SIZE (40000000), MAILER (outbox; ses = SES v2 on moto).
set -euo pipefail
cd "$(dirname "$0")/../.."
. .tools/env.sh 2>/dev/null || true
target="${CARGO_TARGET_DIR:-target}"
# SKIP_BUILD=1 runs the binaries already in $CARGO_TARGET_DIR/release (to compare two builds).
[ -n "${SKIP_BUILD:-}" ] || cargo build --quiet --release -p server --bin mailvend --example loadgen
bin="$target/release/mailvend" load="$target/release/examples/loadgen"
work=$(mktemp -d)
pid=""
stop() {
  if [ -n "$pid" ]; then
    # The server's own CPU time (user + system), so a figure says what the client cost too.
    awk -v t="$(getconf CLK_TCK)" '{printf "server CPU: %.2f s user, %.2f s system\n", $14/t, $15/t}' "/proc/$pid/stat" >&2 || true
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  fi
  pid=""; true
}
trap 'stop; rm -rf "$work"' EXIT
"$load" cert --dir "$work/certs"

# start STORE: a fresh server on a free port with its own data; sets url, pid, token.
start() {
  local port; port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  rm -rf "$work/data"; mkdir -p "$work/data"
  export MAILVEND_STORE="$1" MAILVEND_MAILER="${MAILER_URL:-outbox://$work/data/outbox}" \
    MAILVEND_DOMAIN=aws.example.com MAILVEND_SNS_TOPIC_ARNS="arn:aws:sns:us-east-1:123456789012:mailvend-load" \
    MAILVEND_SNS_CERT_DIR="$work/certs" LEPTOS_SITE_ADDR="127.0.0.1:$port" \
    MAILVEND_LOCAL_LOGIN_TOKEN=loadgen-local-login-token-0123456789 RUST_LOG=info \
    MAILVEND_RATE_LIMIT=100000 # one client (the load generator) makes every request
  "$bin" migrate >/dev/null
  token=$("$bin" token create --name load --scope admin 2>/dev/null)
  "$bin" serve >"$work/server.log" 2>&1 &
  pid=$!
  url="http://127.0.0.1:$port"
  for _ in $(seq 200); do curl -sf "$url/healthz" >/dev/null && break; sleep 0.05; done
  curl -sf -X POST "$url/api/v1/addresses" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"owner":"owner@example.org","account_type":"IT","business_unit":"team","application":"load","environment":"prod"}' >/dev/null
  recipient="team-load-prod-001@aws.example.com"
}

moto() {
  local port; port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  .venv-moto/bin/moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
  moto_pid=$!
  trap 'stop; kill $moto_pid 2>/dev/null; rm -rf "$work"' EXIT
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/moto-api/" >/dev/null && break; sleep 0.1; done
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
}

run() {
  case "$1" in
    sns-sqlite)
      start "sqlite://$work/data/mailvend.db"
      "$load" sns --url "$url" --cert-dir "$work/certs" --recipient "$recipient" \
        --messages "${MESSAGES:-20000}" --concurrency "${CONCURRENCY:-8}"
      echo "outbox files: $(find "$work/data/outbox" -name '*.eml' | wc -l)" >&2
      stop ;;
    sns-dynamodb)
      moto
      start "dynamodb://load$RANDOM"
      "$load" sns --url "$url" --cert-dir "$work/certs" --recipient "$recipient" \
        --messages "${MESSAGES_DYNAMODB:-3000}" --concurrency "${CONCURRENCY:-8}"
      stop ;;
    vend)
      start "sqlite://$work/data/mailvend.db"
      "$load" vend --url "$url" --token "$token" --vends "${VENDS:-20000}" --concurrency 64
      stop ;;
    mixed)
      start "sqlite://$work/data/mailvend.db"
      "$load" mixed --url "$url" --cert-dir "$work/certs" --recipient "$recipient" --token "$token" \
        --login-token loadgen-local-login-token-0123456789 --pid "$pid" --seconds "${SECONDS_MIXED:-60}" ${MIXED_ARGS:-}
      stop ;;
    s3-memory)
      moto
      export MAILVEND_S3_BUCKET=load-inbound MAILVEND_S3_PREFIX=inbound/ MAILVEND_INBOUND_BUDGET_MB="${BUDGET_MB:-128}"
      if [ "${MAILER:-outbox}" = ses ]; then
        # SES on moto: the From address must be a verified identity there, as in AWS.
        curl -sf -X POST "$AWS_ENDPOINT_URL/" -H 'Content-Type: application/x-www-form-urlencoded' \
          -H 'Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ses/aws4_request, SignedHeaders=host, Signature=0' \
          -d 'Action=VerifyEmailIdentity&Version=2010-12-01&EmailAddress=forwarder%40aws.example.com' >/dev/null
        export MAILER_URL=ses MAILVEND_ADMIN_ADDRESS=ops@example.org
      fi
      start "sqlite://$work/data/mailvend.db"
      "$load" s3 --url "$url" --cert-dir "$work/certs" --recipient "$recipient" \
        --s3-endpoint "$AWS_ENDPOINT_URL" --bucket load-inbound --prefix inbound/ \
        --messages "${S3_MESSAGES:-8}" --size "${S3_SIZE:-40000000}" --copies 2
      echo "mailer: ${MAILER:-outbox}; budget: ${BUDGET_MB:-128} MiB; server peak RSS: $(awk '/VmHWM/ {printf "%.0f MiB", $2/1024}' "/proc/$pid/status")" >&2
      [ "${MAILER:-outbox}" = ses ] || echo "outbox files: $(find "$work/data/outbox" -name '*.eml' | wc -l)" >&2
      unset MAILVEND_S3_BUCKET MAILVEND_S3_PREFIX MAILVEND_INBOUND_BUDGET_MB MAILER_URL MAILVEND_ADMIN_ADDRESS
      stop ;;
    *) echo "unknown benchmark $1" >&2; exit 2 ;;
  esac
}

[ $# -gt 0 ] || set -- sns-sqlite sns-dynamodb vend
for b in "$@"; do run "$b"; done
