//! # token-status
//!
//! Has this payment token been provisioned yet? One normalized answer ([`TokenStatus`]) from
//! three providers — Truemed provision token requests, Gr4vy payment service tokens and
//! Token.io token request results — with polite retries, and a JavaScript API (compiled to
//! WebAssembly) that works the same in Node, browsers, bundlers and edge runtimes.
//!
//! The crate is a sans-IO core: everything that decides — URLs and encoding ([`http`]),
//! request building and answer mapping ([`providers`]), errors ([`error`]), retry timing
//! ([`retry`]) and the call loop ([`call`]), Gr4vy API keys and tokens ([`keys`], [`jwt`]) and
//! webhook verification ([`webhook`]) — is pure Rust, tested natively; the hashing, HMACs and
//! signatures behind them come through the [`crypto`] seam. The only I/O is in
//! `fetch` (fetch, `AbortSignal`, timers) and the JavaScript surface is `js`, both compiled for
//! `wasm32` only.

#![warn(missing_docs)]
// The npm package's build (no `std` feature): no standard library on wasm32. Everything here
// needs only `core` and `alloc`; natively (and with `std`) the crate is an ordinary std crate.
#![cfg_attr(all(target_arch = "wasm32", not(feature = "std")), no_std)]

extern crate alloc;

pub mod call;
pub mod config;
pub mod crypto;
pub mod error;
pub mod http;
pub mod index;
pub mod json;
pub mod jwt;
pub mod keys;
pub mod providers;
pub mod retry;
pub mod share;
pub mod status;
pub mod text;
pub mod timers;
pub mod wait;
pub mod waits;
pub mod webhook;

#[cfg(target_arch = "wasm32")]
mod fetch;
#[cfg(target_arch = "wasm32")]
mod global;
#[cfg(target_arch = "wasm32")]
pub mod js;
#[cfg(target_arch = "wasm32")]
mod runtime;

/// Without std, a panic (a bug: the code is written not to panic) traps at once: the same end
/// as std's `panic = "abort"`, minus the panic hook and the message formatting, which are
/// most of `core::fmt` in the module.
#[cfg(all(target_arch = "wasm32", not(feature = "std")))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    core::arch::wasm32::unreachable()
}

/// The module's allocator, with or without std (so the wasm test suites run on it too): talc,
/// which grows the wasm memory as needed. Measured against std's dlmalloc: 1.9 KB smaller
/// (gzip), as fast on the parsing paths (see the README, "Dependencies, and why").
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

pub use error::{Error, ErrorKind};
pub use status::{Provider, TokenState, TokenStatus};
