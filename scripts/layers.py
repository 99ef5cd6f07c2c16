#!/usr/bin/env python3
"""Checks that server/src's imports flow one way.

Each top-level module of the server crate has a layer; a module may use (`crate::x`) only
modules of a lower layer. Edges (cli -> web) -> state -> service, auth -> inbound -> notify
-> settings -> store, mailer -> config and the other leaves. Test code is not checked: `testing/` (the
doubles and services tests use), `tests.rs` files and `#[cfg(test)] mod tests` blocks may
reach anything. Prints the module graph with --graph. Exit status 1 on any upward import
or cycle, naming the file and line.
"""
import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server", "src")

LAYERS = [
    # foundation: no crate imports except each other below them
    ["secret", "clock", "metrics", "drain", "priority"],
    ["config", "tokens"],
    ["store", "mailer", "telemetry", "organizations"],
    ["settings"],
    ["notify"],
    ["inbound"],
    ["service", "auth"],
    ["state"],
    ["web"],
    ["cli"],
]
RANK = {m: i for i, layer in enumerate(LAYERS) for m in layer}
EXEMPT = {"lib", "main", "testing"}


def strip_test_blocks(text):
    """Removes `#[cfg(test)] mod x { ... }` blocks (brace-matched) and `#[cfg(test)]` items."""
    out, i = [], 0
    pattern = re.compile(r"#\[cfg\(test\)\]\s*(pub\s+)?mod\s+\w+\s*\{")
    while True:
        m = pattern.search(text, i)
        if not m:
            out.append(text[i:])
            return "".join(out)
        out.append(text[i:m.start()])
        depth, j = 1, m.end()
        while depth and j < len(text):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        out.append("\n" * text[m.start():j].count("\n"))
        i = j


def main():
    graph, problems = {}, []
    for root, _, files in os.walk(SRC):
        for name in sorted(files):
            if not name.endswith(".rs") or name == "tests.rs":
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, SRC)
            top = rel.split(os.sep)[0].removesuffix(".rs")
            if top in EXEMPT or os.sep + "tests" + os.sep in rel:
                continue
            if top not in RANK:
                problems.append(f"{rel}: module `{top}` has no layer in scripts/layers.py")
                continue
            text = strip_test_blocks(open(path, encoding="utf-8").read())
            for n, line in enumerate(text.split("\n"), 1):
                code = line.split("//")[0]
                for used in re.findall(r"\bcrate::(\w+)", code):
                    if used == top or used in ("testing",):
                        continue
                    graph.setdefault(top, set()).add(used)
                    if used not in RANK:
                        problems.append(f"{rel}:{n}: uses unknown module crate::{used}")
                    elif RANK[used] >= RANK[top]:
                        problems.append(
                            f"{rel}:{n}: `{top}` (layer {RANK[top]}) uses `crate::{used}` "
                            f"(layer {RANK[used]}): imports must flow down"
                        )
    if "--graph" in sys.argv:
        for m in sorted(graph, key=lambda m: (-RANK[m], m)):
            print(f"{m:>9} -> {', '.join(sorted(graph[m], key=lambda u: (-RANK.get(u, 0), u)))}")
    for p in problems:
        print("layers:", p)
    if problems:
        return 1
    print(f"layers: ok ({len(graph)} modules import only downward; no cycle is possible)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
