#!/usr/bin/env bash
# Runs one phase of `make test` and says how long it took, so the CI log shows where the time
# goes: `scripts/phase.sh NAME COMMAND...`.
set -uo pipefail
name=$1
shift
start=$(date +%s)
"$@"
rc=$?
echo "phase ${name}: $(( $(date +%s) - start )) s (exit ${rc})" >&2
exit "$rc"
