#!/usr/bin/env bash
# Notifications end to end with the real binary: a webhook receiver (Python, checking each
# signature the way docs/api.md tells receivers to, answering its first request 500), a signed
# webhook channel and a digest channel made through the API, mail held by a class policy, the
# server's own dispatcher sending, the retry after the 500, and the delivery log as the API
# returns it — printed for closing notes. Needs `make site` (the debug binary). Takes about
# 40 s: the retry waits 30.
#
#   scripts/notify-demo.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="${E2E_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/mailvend}"
[ -x "$bin" ] || { echo "notify-demo: $bin is missing; run make site" >&2; exit 1; }
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
hook_port=$((port + 1))
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

# The receiver: verifies X-Mailvend-Signature with the secret in $work/secret, logs each
# request, answers 500 the first time and 200 after.
cat >"$work/receiver.py" <<'PY'
import hashlib, hmac, http.server, json, sys, time
work, port = sys.argv[1], int(sys.argv[2])
seen = 0
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        body = self.rfile.read(int(self.headers["Content-Length"]))
        ts, sig = self.headers["X-Mailvend-Timestamp"], self.headers["X-Mailvend-Signature"]
        secret = open(f"{work}/secret").read().strip()
        expected = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(sig, "v1=" + expected) and abs(time.time() - int(ts)) <= 300
        seen += 1
        status = 500 if seen == 1 else 200
        event = json.loads(body)
        with open(f"{work}/received.log", "a") as log:
            print(f"receiver: {event['event']:13} id={event['id']} signature={'ok' if ok else 'BAD'} -> {status}", file=log)
        self.send_response(status if ok else 401)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Hook).serve_forever()
PY
python3 "$work/receiver.py" "$work" "$hook_port" &
pids+=($!)

export MAILVEND_DOMAIN=mail.demo.example MAILVEND_STORE="sqlite://$work/mailvend.db" \
  MAILVEND_MAILER="outbox://$work/outbox" MAILVEND_ADMIN_ADDRESS=platform-team@corp.example \
  MAILVEND_NOTIFY_ALLOW_HTTP=on MAILVEND_NOTIFY_POLL=2s MAILVEND_LOCAL_LOGIN_TOKEN=demo-login-token-0123456789-abcdef \
  LEPTOS_SITE_ADDR="127.0.0.1:$port" RUST_LOG=error
"$bin" serve >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.2
done
token=$("$bin" token create --name demo --scope admin 2>/dev/null)
api() { # api METHOD PATH [JSON]
  curl -sf -X "$1" "http://127.0.0.1:$port/api/v1$2" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' ${3:+-d "$3"}
}

address=$(api POST /addresses '{"owner":"team@corp.example","account_type":"IT","business_unit":"payments","application":"ledger","environment":"prod"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["address"])')
echo "\$ POST /api/v1/notifications/channels {kind: webhook, events: [held_waiting, dead_letter]}"
api POST /notifications/channels "{\"kind\":\"webhook\",\"target\":\"http://127.0.0.1:$hook_port/mailvend?token=abc\",\"events\":[\"held_waiting\",\"dead_letter\"]}" |
  tee "$work/created.json" | python3 -c 'import json,sys; c=json.load(sys.stdin); print(json.dumps({"channel": c["channel"], "secret": c["secret"][:12] + "… (shown once)"}, ensure_ascii=False))'
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret"])' "$work/created.json" >"$work/secret"
echo "\$ POST /api/v1/notifications/channels {kind: digest, events: [held_waiting]}"
api POST /notifications/channels '{"kind":"digest","events":["held_waiting"]}' | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["channel"]))'
api PATCH /settings '{"class_policies":{"other":"hold"}}' >/dev/null
printf 'From: Pat <pat@sender.example>\r\nTo: %s\r\nSubject: Invoice for November\r\nMessage-ID: <demo-1@sender.example>\r\n\r\nHello.\r\n' "$address" >"$work/mail.eml"
echo "\$ mailvend deliver --recipient $address mail.eml   (class other, policy hold)"
"$bin" deliver --recipient "$address" "$work/mail.eml" 2>/dev/null | python3 -c 'import json,sys; r=json.loads(sys.stdin.readline()); print(json.dumps({k: r[k] for k in ("outcome","detail")}))'
sleep 7
echo "\$ POST /api/v1/notifications/channels/{id}/test"
channel=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["channel"]["id"])' "$work/created.json")
api POST "/notifications/channels/$channel/test" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(json.dumps({k: d[k] for k in ("event","state","attempts","last_status")}))'
echo "(waiting 30 s for the retry of the delivery the receiver answered 500)"
sleep 32
cat "$work/received.log"
echo "\$ GET /api/v1/notifications/deliveries"
api GET /notifications/deliveries | python3 -c '
import json, sys
line = "{:44}{:9}{:14}{:10}{:>3}  {}"
print(line.format("id", "channel", "event", "state", "n", "last"))
for d in reversed(json.load(sys.stdin)):
    last = ", ".join(x for x in [d["last_status"] and "HTTP %s" % d["last_status"], d["last_error"], d["state"] == "pending" and d["next_at"] and "next " + d["next_at"]] if x)
    print(line.format(d["id"], d["channel_kind"], d["event"], d["state"], d["attempts"], last or "-"))
'
echo "\$ ls outbox   (the digest waits for 07:00 UTC)"
ls "$work/outbox" 2>/dev/null | grep -c '\.eml$' || true
