#!/usr/bin/env python3
"""The rewrite benchmark: mailvend's header rewrite against a Python baseline doing what the
AWS sample's forward Lambda does (aws_sample_forward.py), on the same messages, in the same run.
Each measurement is its own process and reports its own peak resident memory (VmHWM; a
child's getrusage would count the pages of this script, which holds the 40 MB corpus). Prints a Markdown table for docs/benchmarks.md.

    scripts/bench/rewrite.py --bin target/release/examples/rewrite_bench [--seconds 3]

The messages are generated (seeded, so every run rewrites the same bytes) into
target/bench-corpus: realistic shapes at 2 KB, 50 KB, 1 MB, 10 MB and 40 MB, all valid UTF-8
so the baseline's decode step can read them.
"""

import argparse
import base64
import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
CRLF = "\r\n"
SIZES = [("2 KB", 2_000), ("50 KB", 50_000), ("1 MB", 1_000_000), ("10 MB", 10_000_000),
         ("40 MB", 40_000_000)]

HEAD = CRLF.join([
    "Return-Path: <0100018c-bounce@amazonses.com>",
    "Received: from a8-30.smtp-out.amazonses.com (a8-30.smtp-out.amazonses.com [54.240.8.30])",
    "\tby inbound-smtp.us-east-1.amazonaws.com with SMTP id 4k2q5kq9",
    "\tfor team-prod-001@aws.example.com; Wed, 02 Dec 2026 09:00:00 +0000 (UTC)",
    "Received: from mail.sender.example (mail.sender.example [203.0.113.7])",
    "\tby relay.sender.example (Postfix) with ESMTPS id 7F2A1C0031",
    "\tfor <team-prod-001@aws.example.com>; Wed,  2 Dec 2026 09:59:58 +0100 (CET)",
    "DKIM-Signature: v=1; a=rsa-sha256; q=dns/txt; c=relaxed/simple;",
    "\ts=s2026; d=sender.example; t=1764666000;",
    "\th=From:To:Subject:Date:Message-ID:MIME-Version:Content-Type;",
    "\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;",
    "\tb=dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD00lszZVoG4ZHRNiYzR",
    "From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@sender.example>",
    "To: team-prod-001@aws.example.com",
    "Subject: =?UTF-8?Q?Quartalszahlen_f=C3=BCr_Dezember?=",
    "Date: Wed, 2 Dec 2026 09:59:58 +0100",
    "Message-ID: <20261202085958.7F2A1C0031@relay.sender.example>",
    "MIME-Version: 1.0",
])

TEXT = ("Hallo zusammen, anbei die Zahlen für Dezember — Umsatz +4 %, Kosten −2 %. "
        "Grüße aus Köln, Jürgen.\r\n")


def text_part(size):
    body = (TEXT * (size // len(TEXT.encode()) + 1)).encode()[:size].decode("utf-8", "ignore")
    return body


def message(size, rng):
    """A message of about `size` bytes: plain text when small, text+HTML alternative at
    50 KB, text plus a base64 attachment (the common shape of big mail) above that."""
    if size <= 4_000:
        head = HEAD + CRLF + "Content-Type: text/plain; charset=utf-8" + CRLF + \
            "Content-Transfer-Encoding: 8bit" + CRLF + CRLF
        return (head + text_part(size - len(head.encode()))).encode()
    boundary = "=_mailvend_bench_%08x" % rng.getrandbits(32)
    if size <= 100_000:
        half = (size - 1_500) // 2
        html = "<html><body><p>" + text_part(half - 40) + "</p></body></html>"
        parts = [
            ("text/plain; charset=utf-8", "8bit", text_part(half)),
            ("text/html; charset=utf-8", "8bit", html),
        ]
        kind = "multipart/alternative"
    else:
        # base64 grows bytes by 4/3; leave room for the text part and the MIME framing.
        attachment = rng.randbytes((size - 6_000) * 3 // 4)
        b64 = base64.b64encode(attachment).decode()
        lines = CRLF.join(b64[i:i + 76] for i in range(0, len(b64), 76))
        parts = [
            ("text/plain; charset=utf-8", "8bit", text_part(3_000)),
            ('application/pdf; name="Quartalszahlen.pdf"', "base64", lines),
        ]
        kind = "multipart/mixed"
    out = [HEAD, CRLF, f'Content-Type: {kind}; boundary="{boundary}"', CRLF, CRLF,
           "This is a multi-part message in MIME format.", CRLF]
    for ctype, cte, body in parts:
        out += [f"--{boundary}", CRLF, f"Content-Type: {ctype}", CRLF,
                f"Content-Transfer-Encoding: {cte}", CRLF, CRLF, body, CRLF]
    out += [f"--{boundary}--", CRLF]
    return "".join(out).encode()


def corpus(directory):
    os.makedirs(directory, exist_ok=True)
    rng = random.Random(20261202)
    files = []
    for label, size in SIZES:
        path = os.path.join(directory, f"{label.replace(' ', '')}.eml")
        data = message(size, rng)
        if not os.path.exists(path) or os.path.getsize(path) != len(data):
            with open(path, "wb") as f:
                f.write(data)
        files.append((label, path))
    return files


def measure(argv):
    """Runs one measurement; its JSON line (with peak_rss in bytes)."""
    done = subprocess.run(argv, stdout=subprocess.PIPE, check=True)
    return json.loads(done.stdout)


def mib(n):
    return n / 1024 / 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="the rewrite_bench example, release build")
    ap.add_argument("--seconds", default="3")
    ap.add_argument("--corpus", default=os.path.join(ROOT, "target", "bench-corpus"))
    args = ap.parse_args()
    baseline = os.path.join(HERE, "aws_sample_forward.py")
    rows = []
    for label, path in corpus(args.corpus):
        rust = measure([args.bin, path, "--seconds", args.seconds])
        py = measure([sys.executable, baseline, path, "--seconds", args.seconds])
        size = rust["bytes"]
        budget = 2 * size + 16 * 1024 * 1024
        rows.append((label, size, rust, py, budget))
        print(json.dumps({"size": label, "rust": rust, "python": py}), file=sys.stderr)
    print("| message | bytes | mailvend MB/s | mailvend msgs/s | mailvend peak RSS "
          "| Python MB/s | Python peak RSS | speed-up | memory budget (2× + 16 MiB) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label, size, rust, py, budget in rows:
        msgs = rust["iterations"] / rust["seconds"]
        within = "within" if rust["peak_rss"] <= budget else "OVER"
        print(f"| {label} | {size:,} | {rust['mb_per_s']:,.0f} | {msgs:,.0f} "
              f"| {mib(rust['peak_rss']):.1f} MiB | {py['mb_per_s']:,.1f} "
              f"| {mib(py['peak_rss']):.1f} MiB | {rust['mb_per_s'] / py['mb_per_s']:,.0f}× "
              f"| {mib(budget):.1f} MiB, {within} |")


if __name__ == "__main__":
    main()
