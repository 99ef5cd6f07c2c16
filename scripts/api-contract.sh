#!/usr/bin/env bash
# The API contract: schemathesis (installed by `scripts/bootstrap.sh test`) generates requests
# from the OpenAPI description a live server serves, with every check and the stateful phase
# (vend → read/edit/delete, list messages → read/replay), and fails on any disagreement between
# the description and the server. The server is the debug build on a fresh SQLite store with an
# admin token and a few messages in its log.
#
#   scripts/api-contract.sh                 # what make test runs (bounded, fixed seed)
#   scripts/api-contract.sh --seed 42 -n 200   # more examples, another seed
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. .tools/env.sh
bin="${E2E_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/mailvend}"
[ -x "$bin" ] || { echo "api-contract: $bin is missing; run make site" >&2; exit 1; }
st=.venv-moto/bin/st
[ -x "$st" ] || { echo "api-contract: schemathesis is missing; run make test-tools" >&2; exit 1; }

work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export MAILVEND_STORE="sqlite://$work/mailvend.db" MAILVEND_MAILER="outbox://$work/outbox" \
  MAILVEND_DOMAIN=example.com MAILVEND_ADMIN_ADDRESS=admin@corp.example \
  MAILVEND_RATE_LIMIT=100000 LEPTOS_SITE_ADDR="127.0.0.1:$port" LEPTOS_SITE_ROOT="$root/target/site" \
  RUST_LOG=warn
token=$("$bin" token create --name schemathesis --scope admin)
# Mail in the log, so the message operations have something to read and replay.
for to in team-blue-app-prod-001@example.com nobody@example.com; do
  printf 'From: sender@corp.example\r\nTo: %s\r\nSubject: contract\r\nMessage-ID: <%s@corp.example>\r\n\r\nbody\r\n' \
    "$to" "$RANDOM$RANDOM" | "$bin" deliver --recipient "$to" - > /dev/null
done
"$bin" serve > "$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" > /dev/null && break; sleep 0.1; done

# One worker: with two, hypothesis's threads call Python 3.11's `ast.parse` at once and it can
# fail with "AST constructor recursion depth mismatch" (a CPython bug, python/cpython#106905),
# which failed a CI run on 2026-12-05 in an operation nothing had changed.
# filter_too_much: message ids are `<SES id>/<recipient>`, and schemathesis drops the ids it
# learns from responses as path values because of their `/` (clients percent-encode it); the
# health check then reports the generator's waste, not a disagreement with the API.
set +e
"$st" --config-file "$root/scripts/schemathesis.toml" run "http://127.0.0.1:$port/api/v1/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks all --suppress-health-check filter_too_much --max-examples 40 --seed 20261204 --workers 1 \
  --generation-database none --no-color --output-truncate true \
  --report junit --report-dir "$root/target/schemathesis" "$@"
rc=$?
set -e
if [ $rc -ne 0 ]; then
  echo "--- server log (last 40 lines) ---"
  tail -40 "$work/server.log"
fi
exit $rc
