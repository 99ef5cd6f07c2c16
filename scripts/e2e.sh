#!/usr/bin/env bash
# Browser tests: Playwright drives Debian's Chromium against the debug build, once with
# JavaScript and once without. Playwright starts the server itself (end2end/playwright.config.ts).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. .tools/env.sh
export E2E_BIN="${E2E_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/mailvend}"
[ -x "$E2E_BIN" ] || { echo "e2e: $E2E_BIN is missing; run make site" >&2; exit 1; }
[ -f target/site/pkg/mailvend.wasm ] || { echo "e2e: target/site is not built; run make site" >&2; exit 1; }
cd end2end
exec npx playwright test "$@"
