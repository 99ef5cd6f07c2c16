#!/usr/bin/env python3
"""Server render time of the dashboard's Addresses page with 100,000 mappings.

Seeds a fresh SQLite store (through `mailvend migrate`, then rows written straight into the
schema it made, with the search index kept by its triggers), starts the server, signs in
through the local-mode link, and times sequential GETs of the page (time to the first byte
and to the last; the page is server-rendered complete, so the last byte is the render).

    scripts/bench_pages.py [--bin target/release/mailvend] [--mappings 100000] [--requests 200]
"""

import argparse
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(db: str, n: int) -> None:
    con = sqlite3.connect(db)
    units = ["blue-origin", "red-dwarf", "green-field", "data-lake", "core-banking"]
    apps = ["space-cube", "billing", "search", "ledger", "portal", "etl"]
    envs = ["dev", "eval", "prod", "qa"]
    types = ["Sales", "Research", "IT", "DataEngineering"]
    rows, counters = [], {}
    for i in range(n):
        base = f"{units[i % 5]}-{apps[(i // 5) % 6]}{i // 120}-{envs[i % 4]}"
        counters[base] = counters.get(base, 0) + 1
        name = f"{base}-{counters[base]:03d}"
        status = "suspended" if i % 50 == 0 else ("deleted" if i % 97 == 0 else "active")
        now = "2026-12-01T00:00:00.000Z"
        rows.append((f"{name}@example.com", name, base, counters[base], types[i % 4],
                     f"owner{i % 2000}@corp.example", '{"CostCentre":"42"}', status, now, now))
    con.executemany(
        "INSERT INTO mappings (address, account_name, base, counter, account_type, owner, tags, status,"
        " created_at, created_by, updated_at, updated_by) VALUES (?,?,?,?,?,?,?,?,?,'bench',?,'bench')",
        rows,
    )
    con.executemany("INSERT INTO name_counters (base, next) VALUES (?, ?)",
                    [(b, c + 1) for b, c in counters.items()])
    con.commit()
    con.close()


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.environ.get("MAILVEND_BIN", "target/release/mailvend"))
    ap.add_argument("--mappings", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=200)
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="mailvend-bench-")
    port = free_port()
    env = dict(os.environ,
               MAILVEND_STORE=f"sqlite://{work}/mailvend.db",
               MAILVEND_MAILER=f"outbox://{work}/outbox",
               LEPTOS_SITE_ADDR=f"127.0.0.1:{port}",
               LEPTOS_SITE_ROOT=os.environ.get("LEPTOS_SITE_ROOT", "target/site"),
               MAILVEND_LOCAL_LOGIN_TOKEN="bench-login-token-0123456789abcdef",
               RUST_LOG="warn")
    subprocess.run([args.bin, "migrate"], env=env, check=True)
    t = time.perf_counter()
    seed(f"{work}/mailvend.db", args.mappings)
    print(f"seeded {args.mappings} mappings in {time.perf_counter() - t:.1f} s", file=sys.stderr)

    server = subprocess.Popen([args.bin, "serve"], env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(f"{base}/auth/local?token=bench-login-token-0123456789abcdef").read()

        results = {}
        for label, path in [
            ("first page", "/addresses"),
            ("search 'space-cube1'", "/addresses?q=space-cube1"),
            ("owner filter", "/addresses?owner=owner7%40corp.example"),
            ("suspended, type IT", "/addresses?status=suspended&account_type=IT"),
        ]:
            first, total = [], []
            for i in range(args.requests + 5):
                start = time.perf_counter()
                with opener.open(base + path) as r:
                    r.read(1)
                    ttfb = time.perf_counter() - start
                    body = r.read()
                    done = time.perf_counter() - start
                if b"Addresses" not in body or r.status != 200:
                    raise SystemExit(f"{path}: unexpected answer {r.status}")
                if i >= 5:  # warm-up
                    first.append(ttfb * 1000)
                    total.append(done * 1000)
            results[label] = {
                "p50_ms": round(statistics.median(total), 2),
                "p99_ms": round(percentile(total, 99), 2),
                "ttfb_p50_ms": round(statistics.median(first), 2),
                "bytes": len(body),
            }
        print(json.dumps({"mappings": args.mappings, "requests": args.requests, "results": results}, indent=2))
    finally:
        server.terminate()
        server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
