# token-status: `make test` (everything, installing what is missing), `make demo`, `make pkg`,
# `make bench`. Tools installed by npm live in node_modules/.bin; cargo's in ~/.cargo/bin.
SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

PKG_SOURCES := $(shell find src js www/simulator -type f) Cargo.toml Cargo.lock README.md LICENSE scripts/build-pkg.mjs scripts/pkg-extras.mjs

.PHONY: setup setup-bench pkg test demo bench lint fmt clean

setup:
	@scripts/setup.sh

# pkg/ is rebuilt only when a source changed.
pkg/package.json: $(PKG_SOURCES)
	node scripts/build-pkg.mjs

pkg: setup pkg/package.json

test: setup pkg/package.json
	@scripts/test.sh

demo: setup pkg/package.json
	node www/server.mjs

setup-bench:
	@scripts/setup.sh bench

bench: setup-bench pkg/package.json
	node --expose-gc bench/run.mjs

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --all-targets --target wasm32-unknown-unknown -- -D warnings
	cargo clippy --lib --target wasm32-unknown-unknown --no-default-features -- -D warnings
	cargo clippy --lib --target wasm32-unknown-unknown --no-default-features --features server -- -D warnings

fmt:
	cargo fmt

clean:
	rm -rf pkg build target/pkg-stage
