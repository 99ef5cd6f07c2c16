#!/usr/bin/env bash
# make fuzz: runs every cargo-fuzz target for FUZZ_SECONDS each (default 600), one after the
# other, then minimises each corpus back into fuzz/corpus/<target> (kept in the repository).
#   scripts/fuzz.sh [target ...]     targets: rewrite sns_envelope ses_notification
# A crash stops the run; libFuzzer writes the input to fuzz/artifacts/<target>/ and prints
# how to replay it (`cargo fuzz run <target> <file>`).
set -euo pipefail
cd "$(dirname "$0")/.."
. .tools/env.sh 2>/dev/null || true
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version 0.13.2 --locked
# libFuzzer needs unstable compiler flags; RUSTC_BOOTSTRAP unlocks them on the stable
# compiler, as for the wasm build. No sanitizer: the project forbids unsafe code, the oracles
# are the targets' own assertions and panics, and uninstrumented runs are several times faster.
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-fuzz/target}"
seconds="${FUZZ_SECONDS:-600}"
[ $# -gt 0 ] || set -- rewrite sns_envelope ses_notification

seed() {
  local dir="fuzz/corpus/$1"; mkdir -p "$dir"
  [ -n "$(ls -A "$dir")" ] && return
  case "$1" in
    rewrite) cp server/tests/corpus/*.eml "$dir/" ;;
    sns_envelope) cp server/tests/fixtures/sns-aws-signed/*.json "$dir/" ;;
    ses_notification) cp server/tests/fixtures/ses-receipt/*.json "$dir/" ;;
  esac
}

for t in "$@"; do
  seed "$t"
  echo "fuzz: $t for $seconds s"
  set +e
  cargo fuzz run --sanitizer none --release "$t" "fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -max_len=1048576 -rss_limit_mb=4096 -print_final_stats=1 \
    >"fuzz/last-$t.log" 2>&1
  rc=$?
  set -e
  grep -E '^(#[0-9]+\s+DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "fuzz/last-$t.log" || true
  [ "$rc" -eq 0 ] || { tail -30 "fuzz/last-$t.log"; echo "fuzz: $t failed; see fuzz/last-$t.log and fuzz/artifacts/$t" >&2; exit 1; }
  cargo fuzz cmin --sanitizer none --release "$t" "fuzz/corpus/$t" >/dev/null 2>&1
  echo "fuzz: $t clean; corpus $(ls "fuzz/corpus/$t" | wc -l) inputs"
done
