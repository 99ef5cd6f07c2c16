#!/usr/bin/env python3
"""What makes up a wasm file: its sections, and its code by crate and by function.

Reads the function names from the wasm's `name` section, so give it a build that still has
them: the cargo output before wasm-bindgen and wasm-opt
(target/front/wasm32-unknown-unknown/wasm-release/app.wasm), not the shipped site file.
The sizes are of the unoptimised module; wasm-opt shrinks every part, roughly in proportion.

    scripts/bench/wasm_sizes.py target/front/wasm32-unknown-unknown/wasm-release/app.wasm [--top 40]
"""
import argparse
import collections
import re
import subprocess
import sys

SECTIONS = {0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory",
            6: "global", 7: "export", 8: "start", 9: "element", 10: "code", 11: "data",
            12: "datacount"}


def leb(buf, pos):
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, pos


def sections(buf):
    if buf[:4] != b"\0asm":
        sys.exit("not a wasm module")
    pos = 8
    while pos < len(buf):
        sid = buf[pos]
        size, body = leb(buf, pos + 1)
        name = SECTIONS.get(sid, str(sid))
        if sid == 0:
            nlen, npos = leb(buf, body)
            name = "custom:" + buf[npos:npos + nlen].decode("utf-8", "replace")
        yield sid, name, body, size
        pos = body + size


def imported_functions(buf, body):
    count, pos = leb(buf, body)
    funcs = 0
    for _ in range(count):
        for _ in range(2):  # module and field names
            n, pos = leb(buf, pos)
            pos += n
        kind = buf[pos]
        pos += 1
        if kind == 0:
            _, pos = leb(buf, pos)
            funcs += 1
        elif kind == 1:
            pos += 1
            flags, pos = leb(buf, pos)
            _, pos = leb(buf, pos)
            if flags & 1:
                _, pos = leb(buf, pos)
        elif kind == 2:
            flags, pos = leb(buf, pos)
            _, pos = leb(buf, pos)
            if flags & 1:
                _, pos = leb(buf, pos)
        elif kind == 3:
            pos += 2
        else:
            sys.exit(f"unknown import kind {kind}")
    return funcs


def code_sizes(buf, body):
    count, pos = leb(buf, body)
    sizes = []
    for _ in range(count):
        size, start = leb(buf, pos)
        sizes.append(start - pos + size)
        pos = start + size
    return sizes


def function_names(buf, body, size):
    names = {}
    end = body + size
    nlen, pos = leb(buf, body)
    pos += nlen
    while pos < end:
        sub = buf[pos]
        sub_size, sub_body = leb(buf, pos + 1)
        if sub == 1:
            count, p = leb(buf, sub_body)
            for _ in range(count):
                index, p = leb(buf, p)
                n, p = leb(buf, p)
                names[index] = buf[p:p + n].decode("utf-8", "replace")
                p += n
        pos = sub_body + sub_size
    return names


def demangle_all(names):
    """Rust symbols (legacy and v0) made readable by binutils' c++filt, without crate hashes."""
    raw = list(names)
    try:
        out = subprocess.run(["c++filt"], input="\n".join(raw), capture_output=True, text=True,
                             check=True).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        out = raw
    if len(out) < len(raw):
        out = raw
    return [re.sub(r"\[[0-9a-f]{16}\]|::h[0-9a-f]{16}$", "", name) for name in out[:len(raw)]]


def crate_of(name):
    """The crate a function belongs to; for a trait impl `<a::T as b::Tr>::f`, the type's crate."""
    text = name.lstrip("<&*").replace("mut ", "").replace("dyn ", "")
    head = re.match(r"[A-Za-z_][A-Za-z0-9_]*", text)
    if not head or "::" not in text:
        return "(other)"
    return head.group(0)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("wasm")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    buf = open(args.wasm, "rb").read()
    total = len(buf)
    found = list(sections(buf))
    imports = 0
    sizes, names = [], {}
    print(f"{args.wasm}: {total:,} bytes\n\n| section | bytes | share |\n|---|---:|---:|")
    for sid, name, body, size in found:
        print(f"| {name} | {size:,} | {100 * size / total:.1f} % |")
        if sid == 2:
            imports = imported_functions(buf, body)
        elif sid == 10:
            sizes = code_sizes(buf, body)
        elif name == "custom:name":
            names = function_names(buf, body, size)
    if not names:
        sys.exit("\nno function names in this module: analyse the cargo output, not the shipped file")
    code = sum(sizes)
    by_crate = collections.Counter()
    by_fn = []
    readable = demangle_all(names.get(imports + i, f"func[{imports + i}]") for i in range(len(sizes)))
    for size, name in zip(sizes, readable):
        by_crate[crate_of(name)] += size
        by_fn.append((size, name))
    print(f"\n## Code ({code:,} bytes) by crate\n\n| crate | bytes | share of code |\n|---|---:|---:|")
    for crate, size in by_crate.most_common(args.top):
        print(f"| {crate} | {size:,} | {100 * size / code:.1f} % |")
    print(f"\n## The {args.top} largest functions\n\n| bytes | function |\n|---:|---|")
    for size, name in sorted(by_fn, reverse=True)[:args.top]:
        print(f"| {size:,} | `{name[:140]}` |")


if __name__ == "__main__":
    main()
