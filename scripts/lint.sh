#!/usr/bin/env bash
# Formatting and clippy (-D warnings) for the server, and for the app as the browser gets
# it (wasm32 + hydrate): a workspace-wide run would unify `ssr` and `hydrate` and check neither.
set -euo pipefail
cd "$(dirname "$0")/.."
. .tools/env.sh

cargo fmt --all --check

# Imports in server/src flow one way (cli -> web -> state -> service -> inbound -> store -> config).
python3 scripts/layers.py

# Debian's clippy-driver must lint with Debian's rustc (RUSTC), so call it the way
# `cargo clippy` does; with a rustup toolchain, plain `cargo clippy` is the same thing.
clippy() {
  if [ -n "${CLIPPY_DRIVER:-}" ]; then
    RUSTC_WORKSPACE_WRAPPER="$CLIPPY_DRIVER" CLIPPY_ARGS="-Dwarnings__CLIPPY_HACKERY__" cargo check "$@"
  else
    cargo clippy "$@" -- -D warnings
  fi
}

clippy -p server --all-targets --locked
clippy -p app --lib --locked --target wasm32-unknown-unknown --no-default-features --features hydrate \
  ${LEPTOS_LIB_CARGO_ARGS:+$LEPTOS_LIB_CARGO_ARGS}
