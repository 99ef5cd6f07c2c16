#!/usr/bin/env bash
# Fails if anything the repository tracks reads or cites a file outside it. A clone alone must
# pass `make test`: fixtures live in server/tests/fixtures, the product rules in docs/.
# Checked: every tracked text file (sources, tests, fuzz targets, scripts, docs), for a path that
# climbs out of the clone into the reference folder the build machines keep beside it, and for
# any `include_bytes!`/`include_str!` or fixture join that climbs above the repository root.
set -euo pipefail
cd "$(dirname "$0")/.."

self=scripts/self-contained.sh
fail=0
report() { echo "self-contained: $1"; fail=1; }

# 1. The reference folder by name, in any spelling a path could take.
if hits=$(git ls-files -z | grep -zv "^$self\$" | xargs -0 grep -nIE '(\.\./)+shared/|shared/(fixtures|docs)/' 2>/dev/null); then
  report "files outside the repository are read or cited:"
  echo "$hits"
fi

# 2. Relative paths in Rust sources that climb above the repository root: include_bytes!/
#    include_str! resolve from the file's folder (depth d may climb d levels); a `.join("…")`
#    starts from a crate root (CARGO_MANIFEST_DIR), one level below the repository root.
while IFS= read -r -d '' f; do
  depth=$(tr -cd '/' <<<"$f" | wc -c)
  while IFS= read -r lit; do
    n=$(grep -o '\.\./' <<<"$lit" | wc -l)
    case "$lit" in include*) max=$depth ;; *) max=1 ;; esac
    [ "$n" -le "$max" ] || report "$f climbs out of the repository: $lit"
  done < <(grep -oE '(include_bytes!|include_str!)\("[^"]*"|\.join\("(\.\./)+[^"]*"' "$f" || true)
done < <(git ls-files -z -- '*.rs')

[ "$fail" = 0 ] && echo "self-contained: ok (no path outside the repository)"
exit "$fail"
