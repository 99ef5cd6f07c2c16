#!/usr/bin/env python3
"""What a browser downloads: the site's main bundle, and for each lazy route (app::pages::split)
the main bundle plus that page's own chunk and the shared chunks it needs
(`__wasm_split_manifest.json`, written by `cargo leptos build --split`). Raw and gzip -9 bytes.

    scripts/bench/bundle.py [target/site/pkg] [--limit-gzip BYTES]

With --limit-gzip it fails when the main bundle (wasm + its JS) is over the limit.
"""
import argparse
import glob
import gzip
import json
import os
import sys


def sizes(path):
    data = open(path, "rb").read()
    return len(data), len(gzip.compress(data, 9, mtime=0))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pkg", nargs="?", default="target/site/pkg")
    parser.add_argument("--limit-gzip", type=int)
    args = parser.parse_args()
    pkg = args.pkg
    main_files = [f for f in ("mailvend.wasm", "mailvend.js") if os.path.exists(os.path.join(pkg, f))]
    main_files += [os.path.basename(f) for f in glob.glob(os.path.join(pkg, "__wasm_split*.js"))]
    if "mailvend.wasm" not in main_files:
        sys.exit(f"no mailvend.wasm in {pkg}: build the site first")
    cache = {}

    def size(name):
        if name not in cache:
            cache[name] = sizes(os.path.join(pkg, name))
        return cache[name]

    main_raw = sum(size(f)[0] for f in main_files)
    main_gz = sum(size(f)[1] for f in main_files)
    print(f"| download | files | raw | gzip -9 |\n|---|---:|---:|---:|")
    for f in main_files:
        print(f"| `{f}` | 1 | {size(f)[0]:,} B | {size(f)[1]:,} B |")
    print(f"| **main bundle** (every page) | {len(main_files)} | {main_raw:,} B | **{main_gz:,} B** |")
    manifest = os.path.join(pkg, "__wasm_split_manifest.json")
    if os.path.exists(manifest):
        routes = json.load(open(manifest))
        for split, deps in sorted(routes.items()):
            files = [d + ".wasm" for d in deps]
            raw = sum(size(f)[0] for f in files)
            gz = sum(size(f)[1] for f in files)
            name = split.strip("_").rsplit("_", 1)[0]
            print(f"| + {name} | {len(files)} | +{raw:,} B | +{gz:,} B (with main: {main_gz + gz:,} B) |")
    else:
        print("(no __wasm_split_manifest.json: a build without --split)")
    if args.limit_gzip is not None and main_gz > args.limit_gzip:
        sys.exit(f"bundle: the main bundle is {main_gz:,} B gzip, over the limit of {args.limit_gzip:,} B")


if __name__ == "__main__":
    main()
