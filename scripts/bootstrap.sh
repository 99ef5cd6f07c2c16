#!/usr/bin/env bash
# Installs whatever mailvend's build and tests need and is missing, then writes
# .tools/env.sh for the Makefile to source. Safe to run again: each step checks first,
# so a warm machine is done in a second or two.
#
#   scripts/bootstrap.sh build   # Rust toolchain for wasm, cargo-leptos, wasm-bindgen, npm tools
#   scripts/bootstrap.sh test    # the above, plus Chromium, the moto server + aiosmtpd venv and the checkov venv
set -euo pipefail

want=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
mkdir -p .tools
env_file=.tools/env.sh

say() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'bootstrap: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root to run: $*"; fi
}

# Installed, not merely known: a removed package keeps a dpkg record ("deinstall").
installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }

apt_updated=
apt_install() {
  local missing=()
  for p in "$@"; do installed "$p" || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "please install: ${missing[*]}"
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  say "apt-get install ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

command -v cargo >/dev/null || die "cargo is required (https://rustup.rs)"
command -v npm >/dev/null || apt_install nodejs npm

# --- the wasm32 standard library -------------------------------------------------------
# An ordinary rustup install gets the target from rustup. Where that cannot download
# (these build machines), Debian's rustc-web ships a newer compiler with the std source,
# and cargo builds std for wasm32 itself (-Zbuild-std).
rust_env=()
lib_cargo_args=""
debian_rust_available() {
  command -v apt-get >/dev/null || return 1
  installed rustc-web && return 0
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  apt-cache show rustc-web >/dev/null 2>&1
}
use_debian_rust() {
  apt_install rustc-web rust-web-src rust-web-clippy
  local host lld
  host=$(rustup run stable rustc -vV | sed -n 's/^host: //p')
  lld="$(rustup run stable rustc --print sysroot)/lib/rustlib/$host/bin/rust-lld"
  [ -x "$lld" ] || die "rust-lld not found at $lld"
  rust_env=(RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=$lld"
            CLIPPY_DRIVER=/usr/bin/clippy-driver)
  lib_cargo_args="-Zbuild-std=std,panic_abort"
  say "wasm32 target: Debian rustc-web $(/usr/bin/rustc -V | cut -d' ' -f2) with -Zbuild-std"
}
# (Captured first: with pipefail, `grep -q` closing the pipe early can fail the pipeline.)
installed_targets=$(rustup target list --installed 2>/dev/null || true)
if grep -qx wasm32-unknown-unknown <<<"$installed_targets"; then
  say "wasm32 target: rustup"
elif debian_rust_available; then
  use_debian_rust
else
  say "rustup target add wasm32-unknown-unknown"
  timeout 300 rustup target add wasm32-unknown-unknown || die "could not add the wasm32 target"
fi
for kv in "${rust_env[@]}"; do export "${kv?}"; done

# --- cargo-leptos and wasm-bindgen -----------------------------------------------------
export PATH="$root/node_modules/.bin:$HOME/.cargo/bin:$PATH"
if ! command -v cargo-leptos >/dev/null; then
  # cargo-leptos 0.3.11 (--locked) needs rustc >= 1.96; Debian's rustc-web is one way to it.
  installer_rustc=${RUSTC:-rustc}
  have=$("$installer_rustc" -V | cut -d' ' -f2)
  if [ "$(printf '%s\n' 1.96.0 "$have" | sort -V | head -1)" != 1.96.0 ]; then
    if debian_rust_available; then
      apt_install rustc-web
      installer_rustc=/usr/bin/rustc
    else
      die "cargo-leptos needs rustc >= 1.96 (found $have): run 'rustup update stable'"
    fi
  fi
  say "cargo install cargo-leptos (about 15 minutes on 2 cores, once per machine)"
  RUSTC=$installer_rustc cargo install cargo-leptos --version 0.3.11 --locked
fi

[ -f Cargo.lock ] || cargo generate-lockfile
bindgen=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
[ -n "$bindgen" ] || die "wasm-bindgen not found in Cargo.lock"
if [ "$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2)" != "$bindgen" ]; then
  say "cargo install wasm-bindgen-cli $bindgen"
  # --locked fails here: one of its locked dependencies is no longer served.
  cargo install wasm-bindgen-cli --version "$bindgen" --force
fi

# --- npm tools: tailwind, wasm-opt, Playwright (never its browser download) -------------
stamp=node_modules/.package-lock.sha
sum=$(sha256sum package.json package-lock.json 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ ! -d node_modules ] || [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
  say "npm ci"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  echo "$sum" > "$stamp"
fi

# --- Python venvs -------------------------------------------------------------------------
# A venv is built once per machine under ~/.cache/mailvend/venvs, named for what it holds, and
# linked into the clone: a fresh CI clone then links it in a moment instead of spending a
# minute in pip. A clone that already has a real venv directory keeps it.
venv_cache="${MAILVEND_CACHE:-$HOME/.cache/mailvend}/venvs"
venv() { # venv LINK "BINARIES IT MUST HAVE" PACKAGE...
  local link=$1 probes=$2 probe; shift 2
  if [ -d "$link" ] && [ ! -L "$link" ]; then
    for probe in $probes; do [ -x "$link/bin/$probe" ] || break; done
    [ -x "$link/bin/$probe" ] && return
  fi
  local key dir
  key=$(printf '%s\n' "$(python3 -V 2>&1)" "$@" | sha256sum | cut -c1-16)
  dir="$venv_cache/${link#.venv-}-$key"
  mkdir -p "$venv_cache"
  # One builder at a time: two clones bootstrapping at once must not share a half-made venv.
  (
    flock 9
    if [ ! -f "$dir/.complete" ]; then
      say "python venv ${link#.venv-}: $*"
      rm -rf "$dir"
      python3 -m venv "$dir"
      "$dir/bin/pip" install -q "$@"
      touch "$dir/.complete"
    fi
  ) 9>"$venv_cache/.lock"
  rm -rf "$link"
  ln -s "$dir" "$link"
}

# --- test services -----------------------------------------------------------------------
chromium=""
if [ "$want" = test ]; then
  for c in /usr/bin/chromium /usr/bin/chromium-browser; do [ -x "$c" ] && chromium=$c && break; done
  if [ -z "$chromium" ]; then apt_install chromium; chromium=/usr/bin/chromium; fi
  # moto (the AWS APIs), cfn-lint, schemathesis (the API contract) and aiosmtpd (the SMTP
  # relay's sink) share a venv; checkov has its own (its dependencies would fight moto's).
  venv .venv-moto 'moto_server cfn-lint st aiosmtpd' 'moto[server]==5.*' 'cfn-lint==1.*' 'schemathesis==4.32.*' 'aiosmtpd==1.*'
  venv .venv-checkov checkov 'checkov==3.3.30'
fi

{
  echo "# written by scripts/bootstrap.sh; sourced by the Makefile"
  echo "export PATH=\"$root/node_modules/.bin:\$HOME/.cargo/bin:\$PATH\""
  for kv in "${rust_env[@]}"; do printf 'export %q\n' "$kv"; done
  printf 'export LEPTOS_LIB_CARGO_ARGS=%q\n' "$lib_cargo_args"
  [ -n "$chromium" ] && printf 'export CHROMIUM=%q\n' "$chromium"
  echo "export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1"
} > "$env_file"
say "tools ready"
