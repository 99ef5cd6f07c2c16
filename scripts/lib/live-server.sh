# Sourced by the documentation generators (scripts/api-examples.sh, scripts/integrations.sh):
# starts a fresh mailvend with an empty SQLite store and an outbox mailer, makes two tokens,
# and gives `run TITLE [COMMAND]`, which prints the command (from stdin when not given, so a
# heredoc spares the quoting) and its real output as Markdown.
#
# Before sourcing, a script may set VEND_NAME and ADMIN_NAME (the tokens' names). After it:
# $API (the API's base URL), $ADMIN and $VEND (the tokens), $BIN, $DATA.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${MAILVEND_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/mailvend}
[ -x "$bin" ] || { echo "no $bin: build it first (make site), or set MAILVEND_BIN" >&2; exit 1; }
data=$(mktemp -d)
port=${PORT:-3911}
export MAILVEND_STORE="sqlite://$data/mailvend.db" MAILVEND_MAILER="outbox://$data/outbox" MAILVEND_DOMAIN=aws.example.com LEPTOS_SITE_ADDR="127.0.0.1:$port"
export RUST_LOG=warn
ADMIN=$("$bin" token create --name "${ADMIN_NAME:-docs-admin}" --scope admin 2>/dev/null)
VEND=$("$bin" token create --name "${VEND_NAME:-docs-pipeline}" --scope vend 2>/dev/null)
"$bin" serve >/dev/null 2>&1 &
pid=$!
trap 'kill $pid; rm -rf "$data"' EXIT
# The server must be ours and up: a port taken by another server would answer in its place.
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.05; done
if ! kill -0 "$pid" 2>/dev/null || ! curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; then
  echo "mailvend did not start on port $port (taken? set PORT)" >&2
  exit 1
fi
export API="http://127.0.0.1:$port/api/v1" ADMIN VEND BIN=$bin DATA=$data REPO=$root

# Tokens made later (a rotation) are hidden the same way once listed here.
secrets=("$ADMIN" "$VEND")

run() {
  local title=$1 cmd hide=() s
  if (($# > 1)); then cmd=$2; else cmd=$(cat); fi
  printf '### %s\n\n```sh\n%s\n```\n\n```\n' "$title" "$cmd"
  # The tokens are shown as variables, never their values.
  for s in "${secrets[@]}"; do hide+=(-e "s/$s/<token>/g"); done
  bash -c "$cmd" 2>&1 | sed -e "s/$ADMIN/\$ADMIN/g" -e "s/$VEND/\$VEND/g" "${hide[@]}"
  printf '\n```\n\n'
}
