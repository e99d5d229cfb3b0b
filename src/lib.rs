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

pub mod call;
pub mod config;
pub mod crypto;
pub mod error;
pub mod http;
pub mod json;
pub mod jwt;
pub mod keys;
pub mod providers;
pub mod retry;
pub mod status;
pub mod text;
pub mod wait;
pub mod waits;
pub mod webhook;

#[cfg(target_arch = "wasm32")]
mod fetch;
#[cfg(target_arch = "wasm32")]
pub mod js;

pub use error::{Error, ErrorKind};
pub use status::{Provider, TokenState, TokenStatus};
