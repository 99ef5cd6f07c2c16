#!/usr/bin/env python3
"""The baseline for the rewrite benchmark: what the AWS sample's forward Lambda does to a
message, written for the benchmark (not the sample's code). For at least SECONDS: decode the raw
bytes as UTF-8, parse with email.message_from_string, delete From, Return-Path and To, set From
and To, serialise with as_string(). Prints one JSON line like rewrite_bench.

    aws_sample_forward.py FILE [--seconds S]
"""

import email
import json
import sys
import time


def forward(raw: bytes) -> str:
    message = email.message_from_string(raw.decode("utf-8"))
    original_from = message["From"]
    del message["From"]
    del message["Return-Path"]
    del message["To"]
    message["From"] = f'"{original_from} via forwarder" <forwarder@aws.example.com>'
    message["To"] = "owner@example.org"
    return message.as_string()


def main():
    path = sys.argv[1]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[2] == "--seconds" else 2.0
    with open(path, "rb") as f:
        raw = f.read()
    start = time.perf_counter()
    iterations, out_len = 0, 0
    while iterations == 0 or time.perf_counter() - start < seconds:
        out_len = len(forward(raw))
        iterations += 1
    secs = time.perf_counter() - start
    print(json.dumps({
        "bytes": len(raw), "out_bytes": out_len, "iterations": iterations,
        "seconds": round(secs, 4), "mb_per_s": round(len(raw) * iterations / secs / 1e6, 2),
        "peak_rss": peak_rss(),
    }))


def peak_rss():
    """This process's peak resident memory in bytes (VmHWM), as rewrite_bench reports its own."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


if __name__ == "__main__":
    main()
