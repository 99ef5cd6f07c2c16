#!/usr/bin/env python3
"""What a dashboard page costs as the data grows: the overview, the Addresses and Messages
lists and one address's page, timed on a small store and a large one in the same run.

Each store is made by `mailvend migrate` and then filled straight through the schema it made
(the counting and search triggers run as they would for the server's own writes): the small
one with 1,000 mappings and 1,000 message records, the large one with 100,000 mappings and
1,000,000 records spread over the last 25 days, a tenth of them to one busy address. The
server is started on each in turn, signed in through the local-mode link, and each page is
fetched sequentially (server-rendered whole, so the last byte is the render).

    scripts/bench/scale.py [--bin target/release/mailvend] [--records 1000000]
                           [--mappings 100000] [--requests 100]

Prints a JSON report and a Markdown table; exits 1 when a large page's p50 is over 1.5 times
its small p50 (the bound of docs/benchmarks.md).
"""

import argparse
import datetime
import http.cookiejar
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

LOGIN = "bench-login-token-0123456789abcdef"
DOMAIN = "example.com"
OUTCOMES = ["forwarded"] * 17 + ["dead_letter", "rejected", "undeliverable"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def address(i: int) -> str:
    return f"acct-{i:06d}@{DOMAIN}"


def seed(db: str, mappings: int, records: int) -> None:
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = OFF")
    now = "2026-12-01T00:00:00.000Z"
    con.executemany(
        "INSERT INTO mappings (address, account_name, base, counter, account_type, owner, tags,"
        " status, created_at, created_by, updated_at, updated_by)"
        " VALUES (?, ?, 'acct', ?, ?, ?, '{}', ?, ?, 'bench', ?, 'bench')",
        (
            (address(i), f"acct-{i:06d}", i, "IT" if i % 2 else "Sales",
             f"owner{i % 2000}@corp.example", "suspended" if i % 50 == 0 else "active", now, now)
            for i in range(mappings)
        ),
    )
    con.execute("INSERT INTO name_counters (base, next) VALUES ('acct', ?)", (mappings + 1,))
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=25)
    step = datetime.timedelta(days=25) / max(records, 1)

    def rows():
        for i in range(records):
            at = (start + step * i).strftime("%Y-%m-%dT%H:%M:%S.") + f"{(i % 1000):03d}Z"
            # A tenth of the mail goes to one busy address: its page must not care.
            to = address(0) if i % 10 == 0 else address(i % mappings)
            ses = f"bench-{i:08d}"
            rid = f"{ses}/{to}"
            outcome = OUTCOMES[i % len(OUTCOMES)]
            yield (rid, ses, to, "no-reply@aws.example", f"message {i}", 1000 + i % 5000,
                   "spam:PASS virus:PASS spf:PASS dkim:PASS dmarc:PASS", outcome,
                   "owner@corp.example", outcome, 1, at, at, f"{at}#{rid}")

    con.executemany(
        "INSERT INTO messages (id, ses_message_id, recipient, sender, subject, size, verdicts,"
        " outcome, delivered_to, detail, attempts, received_at, updated_at, sort_key)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows(),
    )
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


PAGES = [
    ("overview", "/"),
    ("addresses", "/addresses"),
    ("messages", "/messages"),
    ("address detail (busiest)", f"/addresses/{address(0)}"),
]


def measure(bin_path: str, mappings: int, records: int, requests: int) -> dict:
    work = tempfile.mkdtemp(prefix="mailvend-scale-")
    port = free_port()
    env = dict(os.environ,
               MAILVEND_STORE=f"sqlite://{work}/mailvend.db",
               MAILVEND_MAILER=f"outbox://{work}/outbox",
               MAILVEND_DOMAIN=DOMAIN,
               MAILVEND_RETENTION_DAYS="3650",
               LEPTOS_SITE_ADDR=f"127.0.0.1:{port}",
               LEPTOS_SITE_ROOT=os.environ.get("LEPTOS_SITE_ROOT", "target/site"),
               MAILVEND_LOCAL_LOGIN_TOKEN=LOGIN,
               RUST_LOG="warn")
    subprocess.run([bin_path, "migrate"], env=env, check=True)
    t = time.perf_counter()
    seed(f"{work}/mailvend.db", mappings, records)
    seeded = time.perf_counter() - t
    print(f"seeded {mappings} mappings and {records} records in {seeded:.1f} s", file=sys.stderr)
    server = subprocess.Popen([bin_path, "serve"], env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(f"{base}/auth/local?token={LOGIN}").read()
        results = {}
        for label, path in PAGES:
            took = []
            for i in range(requests + 5):
                start = time.perf_counter()
                with opener.open(base + path) as r:
                    body = r.read()
                    status = r.status
                if status != 200 or b"</html>" not in body:
                    raise SystemExit(f"{path}: unexpected answer {status}")
                if i >= 5:  # warm-up
                    took.append((time.perf_counter() - start) * 1000)
            results[label] = {
                "p50_ms": round(statistics.median(took), 2),
                "p99_ms": round(percentile(took, 99), 2),
                "bytes": len(body),
            }
        return {"mappings": mappings, "records": records, "seed_s": round(seeded, 1),
                "pages": results}
    finally:
        server.terminate()
        server.wait()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.environ.get("MAILVEND_BIN", "target/release/mailvend"))
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--mappings", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=100)
    args = ap.parse_args()
    small = measure(args.bin, 1_000, 1_000, args.requests)
    large = measure(args.bin, args.mappings, args.records, args.requests)
    print(json.dumps({"small": small, "large": large}, indent=2))
    print(f"\n| page | p50 at {small['records']:,} | p99 | p50 at {large['records']:,} "
          f"| p99 | p50 ratio |\n|---|---|---|---|---|---|")
    worst = 0.0
    for label, _ in PAGES:
        s, l = small["pages"][label], large["pages"][label]
        ratio = l["p50_ms"] / s["p50_ms"]
        worst = max(worst, ratio)
        print(f"| {label} | {s['p50_ms']} ms | {s['p99_ms']} ms | {l['p50_ms']} ms "
              f"| {l['p99_ms']} ms | {ratio:.2f} |")
    if worst > 1.5:
        print(f"\nthe worst page costs {worst:.2f}x at scale (bound 1.5)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
