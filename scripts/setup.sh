#!/usr/bin/env bash
# Installs everything `make test`, `make pkg`, `make demo` and `make bench` need, on a fresh
# machine of this kind. Idempotent: when every tool is present at the right version it only
# checks versions (about a second). GitHub is unreachable here, so nothing is downloaded
# from it: Rust tools come from crates.io, wasm-opt from npm `binaryen`, browsers from Debian.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_PACK_VERSION=0.15.1
GECKODRIVER_VERSION=0.37.1
TWIGGY_VERSION=0.8.0
# wasm-bindgen-cli must equal the wasm-bindgen in Cargo.lock exactly, or wasm-pack reaches for GitHub.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)

export PATH="$HOME/.cargo/bin:$PATH"
say() { printf 'setup: %s\n' "$*" >&2; }
# grep reads all the output: with pipefail, `grep -q` would stop early and a multi-line --version
# (geckodriver's) would die of SIGPIPE and count as missing.
have_version() { command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -F "$2" >/dev/null; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
rustup component list --installed | grep -q '^clippy' || rustup component add clippy
rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt

if ! have_version wasm-pack "$WASM_PACK_VERSION"; then
  say "installing wasm-pack $WASM_PACK_VERSION (about 2 minutes)"
  cargo install wasm-pack --locked --version "$WASM_PACK_VERSION"
fi

if ! have_version wasm-bindgen "$WASM_BINDGEN_VERSION"; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 2 minutes)"
  cargo install wasm-bindgen-cli --locked --version "$WASM_BINDGEN_VERSION" \
    || cargo install wasm-bindgen-cli --force --version "$WASM_BINDGEN_VERSION"
fi

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need_apt+=(chromium-driver)
command -v firefox-esr >/dev/null 2>&1 || command -v firefox >/dev/null 2>&1 || need_apt+=(firefox-esr)
# util-linux's `script` runs the command-line tests under a real pseudo-terminal (Debian: bsdutils).
command -v script >/dev/null 2>&1 || need_apt+=(bsdutils)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing ${need_apt[*]} from Debian"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! have_version geckodriver "$GECKODRIVER_VERSION"; then
  say "installing geckodriver $GECKODRIVER_VERSION (about 2 minutes)"
  cargo install geckodriver --locked --version "$GECKODRIVER_VERSION"
fi

# `scripts/setup.sh bench` also installs twiggy, for `make bench`'s breakdown of the wasm bytes.
if [ "${1:-}" = bench ] && ! have_version twiggy "$TWIGGY_VERSION"; then
  say "installing twiggy $TWIGGY_VERSION (about 1 minute)"
  cargo install twiggy --locked --version "$TWIGGY_VERSION"
fi

# npm tools (binaryen's wasm-opt, typescript, playwright-core, vite, esbuild, and @gr4vy/sdk
# for the benchmarks) live in the
# project's node_modules; the Makefile puts node_modules/.bin first on PATH.
# `npm install` (not `npm ci`): it follows package-lock.json, but tolerates optional per-platform
# binaries (deno, workerd) that this registry serves for Linux only at the pinned versions.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ package.json -nt node_modules/.package-lock.json ]; then
  say "installing npm dev tools"
  npm install --no-audit --no-fund --loglevel=error
fi
