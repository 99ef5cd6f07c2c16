#!/usr/bin/env bash
# make unit: every Rust test, built once and then run as two lanes of test binaries.
#
# `cargo test` runs its test binaries one after another, and two of them (the 100,000-row
# export, the real-process fleet runs) take most of the time while leaving a core idle for much
# of it (the fleet runs wait on servers, moto and signals). So the binaries are built with one
# `cargo test --no-run`, then run longest first by two workers; each binary's output is printed
# whole when it ends, so the lanes do not interleave. Any failure fails the run, after every
# binary has run, with the failed ones named at the end.
#
#   scripts/unit.sh [TEST-ARGS...]    # e.g. scripts/unit.sh --nocapture; UNIT_LANES=1 runs them in turn
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. .tools/env.sh
# The same flags as cargo-leptos's debug build, so the tests reuse its artefacts.
export RUSTFLAGS="--cfg erase_components" LEPTOS_OUTPUT_NAME=mailvend
lanes=${UNIT_LANES:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# One line per test binary: "package-dir<TAB>name<TAB>executable". `--tests` leaves out the
# examples (clippy checks them; linking them here cost CI two full links), and the crates have
# no doc examples (`doctest = false`). The features are cargo-leptos's (server with `ssr` and
# no default, app with what the server asks): with any other set, the app and server libraries
# this builds and the ones `make site` builds replace each other on every run (cargo keys an
# artefact by its features), and each phase rebuilt both.
cargo test --workspace --locked --tests --no-run --no-default-features --features server/ssr \
  --message-format=json-render-diagnostics |
  python3 -c '
import json, os, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("profile", {}).get("test") and m.get("executable"):
        kind = m["target"]["kind"][0]
        name = m["target"]["name"] if kind == "test" else m["target"]["name"] + "-" + kind
        print(os.path.dirname(m["manifest_path"]), name, m["executable"], sep="\t")
' >"$work/binaries"

# Longest first (measured: export ~70 s, processes ~60 s, the server library ~15 s), so the two
# long ones start at once and the short ones fill in behind them.
order="export processes server-lib pages sso"
{
  for name in $order; do awk -F'\t' -v n="$name" '$2 == n' "$work/binaries"; done
  awk -F'\t' -v names=" $order " 'index(names, " " $2 " ") == 0' "$work/binaries"
} >"$work/queue"
[ "$(wc -l <"$work/queue")" = "$(wc -l <"$work/binaries")" ] || { echo "unit: queue lost a binary" >&2; exit 1; }

run_one() { # run_one DIR NAME EXE: cargo's way (cwd = the package), output kept
  local dir=$1 name=$2 exe=$3 start rc args=()
  [ -s "$work/args" ] && mapfile -t args <"$work/args"
  start=$(date +%s)
  (cd "$dir" && "$exe" "${args[@]}") >"$work/$name.out" 2>&1 && rc=0 || rc=$?
  {
    echo "==> $name ($(( $(date +%s) - start )) s, exit $rc)"
    cat "$work/$name.out"
  } | flock "$work/print" cat
  [ "$rc" = 0 ] || echo "$name" >>"$work/failed"
}
export -f run_one
export work

[ $# = 0 ] || printf '%s\n' "$@" >"$work/args"
tr '\t' '\n' <"$work/queue" | xargs -d '\n' -n 3 -P "$lanes" bash -c 'run_one "$@"' _ || true

if [ -s "$work/failed" ]; then
  echo "unit: failed: $(tr '\n' ' ' <"$work/failed")" >&2
  exit 1
fi
echo "unit: $(wc -l <"$work/queue") test binaries passed"
