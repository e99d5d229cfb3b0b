//! The one place that performs I/O: [`FetchEnv`] implements [`Env`] with the global `fetch`,
//! `AbortController`, `setTimeout` and the body stream, and [`WebCrypto`] implements
//! [`Crypto`] with `crypto.subtle`, so both run the same in Node, Deno, Bun, browsers, workers
//! and edge runtimes. Everything they decide is delegated to the pure core.
//!
//! It calls `fetch(url, init)` itself rather than through gloo-net: gloo-net's request builder
//! constructs every request twice and re-parses its URL (to merge query parameters we never
//! use), which cost measurable time per call and bytes in the module (see bench/RESULTS.md).

use crate::call::{Env, TokenFailure, Transport, WakeOn};
#[cfg(feature = "server")]
use crate::crypto::Crypto;
use crate::error::Error;
use crate::global::Global;
use crate::http::{INTERESTING_HEADERS, MAX_BODY_BYTES, Method, Request, Response};
#[cfg(feature = "server")]
use crate::jwt::TokenMinter;
#[cfg(feature = "server")]
use crate::keys::PrivateKey;
use crate::status::Provider;
use crate::waits::Mailbox;
use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::Cell;
#[cfg(feature = "server")]
use core::cell::RefCell;
use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal, ResponseType};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
    /// The global `fetch` (browsers, workers, Node 18+, Deno, Bun, workerd).
    #[wasm_bindgen(js_name = fetch)]
    fn fetch(url: &str, init: &Object) -> Promise;
}

/// Runs `handler` after `ms`, until dropped: dropping the guard clears the timer, so a finished
/// call never leaves a timer behind (a Node process exits by itself).
struct Timer(JsValue);

impl Timer {
    fn start(handler: &Function, ms: f64) -> Timer {
        Timer(set_timeout(handler, ms.clamp(0.0, 2_147_483_647.0)))
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        clear_timeout(&self.0);
    }
}

/// One timer for every attempt in flight: each attempt registers its deadline and its
/// `AbortController`; a single `setTimeout`, armed for the earliest deadline, aborts whatever
/// has expired when it fires and re-arms for the next. Registering costs a slot in a vector
/// instead of a timer per attempt (measurably cheaper per call, and one timer rather than
/// thousands under load); when nothing is in flight the timer is cleared, so a Node process
/// still exits by itself.
struct Deadlines {
    /// Attempts in flight, by slot; `None` marks a free slot.
    slots: Vec<Option<(f64, AbortController)>>,
    /// Free slot indexes.
    free: Vec<usize>,
    /// Attempts in flight.
    count: usize,
    /// The armed timer: when it fires, and its handle.
    armed: Option<(f64, JsValue)>,
    /// The timer callback, made once and kept for the module's lifetime.
    tick: Option<Closure<dyn FnMut()>>,
}

static DEADLINES: Global<Deadlines> = Global::new(Deadlines {
    slots: Vec::new(),
    free: Vec::new(),
    count: 0,
    armed: None,
    tick: None,
});

impl Deadlines {
    fn arm(&mut self, at: f64) {
        if let Some((_, handle)) = self.armed.take() {
            clear_timeout(&handle);
        }
        let tick = self
            .tick
            .get_or_insert_with(|| Closure::new(fire_deadlines))
            .as_ref()
            .unchecked_ref::<Function>()
            .clone();
        // A little late rather than early, so the earliest deadline has passed when it fires.
        let delay = (at - js_sys::Date::now()).clamp(0.0, 2_147_483_647.0) + 1.0;
        self.armed = Some((at, set_timeout(&tick, delay)));
    }
}

/// Aborts `controller` once `deadline` (on `Date.now()`'s clock) has passed, until unwatched.
fn watch_deadline(deadline: f64, controller: AbortController) -> usize {
    DEADLINES.with(|d| {
        let slot = match d.free.pop() {
            Some(slot) => {
                d.slots[slot] = Some((deadline, controller));
                slot
            }
            None => {
                d.slots.push(Some((deadline, controller)));
                d.slots.len() - 1
            }
        };
        d.count += 1;
        if d.armed.as_ref().is_none_or(|(at, _)| deadline < *at) {
            d.arm(deadline);
        }
        slot
    })
}

/// Forgets an attempt's deadline; clears the timer when nothing is left in flight.
fn unwatch_deadline(slot: usize) {
    DEADLINES.with(|d| {
        if d.slots.get_mut(slot).and_then(Option::take).is_some() {
            d.free.push(slot);
            d.count -= 1;
        }
        if d.count == 0 {
            if let Some((_, handle)) = d.armed.take() {
                clear_timeout(&handle);
            }
        }
    })
}

/// The shared timer fired: abort every expired attempt, re-arm for the next deadline.
fn fire_deadlines() {
    let now = js_sys::Date::now();
    let expired: Vec<AbortController> = DEADLINES.with(|d| {
        d.armed = None;
        let mut expired = Vec::new();
        let mut next = f64::INFINITY;
        for slot in 0..d.slots.len() {
            match &d.slots[slot] {
                Some((deadline, _)) if *deadline <= now => {
                    if let Some((_, controller)) = d.slots[slot].take() {
                        expired.push(controller);
                    }
                    d.free.push(slot);
                    d.count -= 1;
                }
                Some((deadline, _)) => next = next.min(*deadline),
                None => {}
            }
        }
        if d.count > 0 {
            d.arm(next);
        }
        expired
    });
    // Outside the borrow: abort listeners run synchronously.
    for controller in expired {
        controller.abort();
    }
}

/// Calls `handler` when `signal` fires, until dropped.
struct AbortListener<'a> {
    signal: &'a AbortSignal,
    handler: Function,
}

impl<'a> AbortListener<'a> {
    fn attach(signal: &'a AbortSignal, handler: Function) -> AbortListener<'a> {
        // An EventTarget call cannot fail for a real AbortSignal; the caller's was checked.
        let _ = signal.add_event_listener_with_callback("abort", &handler);
        AbortListener { signal, handler }
    }
}

impl Drop for AbortListener<'_> {
    fn drop(&mut self) {
        let _ = self
            .signal
            .remove_event_listener_with_callback("abort", &self.handler);
    }
}

/// `controller.abort` bound to its controller, callable from a timer or an event.
fn abort_function(controller: &AbortController) -> Function {
    // A real AbortController always has `abort`: the lookup cannot fail.
    let abort: Function = Reflect::get(controller, &JsValue::from_str("abort"))
        .unwrap_or(JsValue::UNDEFINED)
        .unchecked_into();
    abort.bind0(controller)
}

/// The environment of one call: the caller's signal and `bearerToken` function, and for a
/// wait its mailbox (statuses pushed by webhooks and `notify()`).
pub struct FetchEnv {
    /// The caller's `AbortSignal`, if any.
    pub signal: Option<AbortSignal>,
    /// The `bearerToken` function, when the credential is dynamic.
    pub bearer: Option<Function>,
    /// The wait's mailbox, when this call is a wait.
    pub mailbox: Option<Rc<Mailbox>>,
    /// The Gr4vy API key tokens are minted from, when the client has one (never, in the
    /// browser build).
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub minting: Option<Rc<Minting>>,
}

impl FetchEnv {
    async fn attempt(
        &self,
        request: &Request,
        controller: &AbortController,
    ) -> Result<Response, JsValue> {
        // fetch(url, init) with a plain init object: one request construction, no URL
        // re-parsing, the fewest crossings of the JS boundary.
        let init = Object::new();
        if request.method != Method::Get {
            Reflect::set(&init, &"method".into(), &request.method.as_str().into())?;
        }
        if !request.headers.is_empty() {
            let headers = Object::new();
            for (name, value) in &request.headers {
                Reflect::set(&headers, &name.as_str().into(), &value.as_str().into())?;
            }
            Reflect::set(&init, &"headers".into(), &headers)?;
        }
        Reflect::set(&init, &"signal".into(), &controller.signal())?;
        if let Some(body) = &request.body {
            Reflect::set(&init, &"body".into(), &body.as_str().into())?;
        }
        let response: web_sys::Response = JsFuture::from(fetch(&request.url, &init))
            .await?
            .unchecked_into();
        let headers = response.headers();
        let status = response.status();
        let mut kept = Vec::new();
        // The hint headers only matter on a failure; a success reads none of them.
        if !(200..300).contains(&status) {
            for name in INTERESTING_HEADERS {
                if let Ok(Some(value)) = headers.get(name) {
                    kept.push((name.to_owned(), value));
                }
            }
        }
        // Content-Length counts encoded bytes: a gzip body of a few KB can decode to gigabytes.
        // It is trusted only when the body is visibly unencoded; a cross-origin (CORS) answer
        // hides content-encoding from scripts, so it is always streamed and cut.
        let encoded = response.type_() == ResponseType::Cors
            || headers
                .get("content-encoding")
                .ok()
                .flatten()
                .is_some_and(|v| !v.trim().eq_ignore_ascii_case("identity"));
        let declared = if encoded {
            None
        } else {
            headers
                .get("content-length")
                .ok()
                .flatten()
                .and_then(|v| crate::http::parse_content_length(&v))
        };
        let (body, truncated) = read_body(&response, declared).await?;
        Ok(Response {
            status,
            headers: kept,
            body,
            truncated,
        })
    }
}

/// Reads at most [`MAX_BODY_BYTES`]: a body declared larger is not read at all, and a body
/// without a trusted `Content-Length` (none, or content-encoded) is streamed and cut off once
/// it passes the limit.
async fn read_body(
    response: &web_sys::Response,
    declared: Option<usize>,
) -> Result<(Vec<u8>, bool), JsValue> {
    let Some(stream) = response.body() else {
        return Ok((Vec::new(), false));
    };
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        let _ = stream.cancel();
        return Ok((Vec::new(), true));
    }
    if declared.is_some() {
        let buffer = JsFuture::from(response.array_buffer()?).await?;
        return Ok((Uint8Array::new(&buffer).to_vec(), false));
    }
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let done_key = JsValue::from_str("done");
    let value_key = JsValue::from_str("value");
    let mut body = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read()).await?;
        if Reflect::get(&chunk, &done_key)?.is_truthy() {
            return Ok((body, false));
        }
        let bytes: Uint8Array = Reflect::get(&chunk, &value_key)?.unchecked_into();
        let length = bytes.length() as usize;
        if body.len() + length > MAX_BODY_BYTES {
            let _ = reader.cancel();
            return Ok((Vec::new(), true));
        }
        let start = body.len();
        body.resize(start + length, 0);
        bytes.copy_to(&mut body[start..]);
    }
}

/// The runtime's words for a failed fetch, with Node's `cause.code` (`ECONNREFUSED`) when present.
fn describe(error: &JsValue) -> String {
    let text = |value: &JsValue, key: &str| {
        Reflect::get(value, &JsValue::from_str(key))
            .ok()
            .and_then(|v| v.as_string())
    };
    let mut message = error
        .as_string()
        .or_else(|| text(error, "message"))
        .unwrap_or_default();
    if let Ok(cause) = Reflect::get(error, &JsValue::from_str("cause")) {
        if let Some(detail) = text(&cause, "code").or_else(|| text(&cause, "message")) {
            if !crate::text::contains(&message, &detail) {
                if !message.is_empty() {
                    message.push_str(": ");
                }
                message.push_str(&detail);
            }
        }
    }
    message
}

impl Env for FetchEnv {
    async fn send(&self, request: &Request, timeout_ms: f64) -> Result<Response, Transport> {
        if self.aborted() {
            return Err(Transport::Aborted);
        }
        let controller = AbortController::new().map_err(|e| Transport::Network(describe(&e)))?;
        // A terminal status pushed to the wait meanwhile aborts the attempt.
        let interrupted = Rc::new(Cell::new(false));
        if let Some(mailbox) = &self.mailbox {
            let (flag, abort) = (interrupted.clone(), abort_function(&controller));
            let waker = Box::new(move || {
                flag.set(true);
                let _ = abort.call0(&JsValue::UNDEFINED);
            });
            if !mailbox.arm(WakeOn::Terminal, waker) {
                return Err(Transport::Interrupted);
            }
        }
        let slot = watch_deadline(js_sys::Date::now() + timeout_ms, controller.clone());
        let _listener = self
            .signal
            .as_ref()
            .map(|signal| AbortListener::attach(signal, abort_function(&controller)));
        let outcome = self.attempt(request, &controller).await;
        unwatch_deadline(slot);
        if let Some(mailbox) = &self.mailbox {
            mailbox.disarm();
        }
        match outcome {
            Ok(response) => Ok(response),
            Err(_) if interrupted.get() => Err(Transport::Interrupted),
            Err(_) if self.aborted() => Err(Transport::Aborted),
            Err(_) if controller.signal().aborted() => Err(Transport::Timeout),
            Err(error) => Err(Transport::Network(describe(&error))),
        }
    }

    async fn sleep(&self, ms: f64, wake: WakeOn) -> Result<(), Transport> {
        if self.aborted() {
            return Err(Transport::Aborted);
        }
        let mut timer = None;
        let mut listener = None;
        let mut due = false;
        let promise = Promise::new(&mut |resolve, reject| {
            // The timer resolves with undefined; a push to the wait's mailbox with `true`.
            if let Some(mailbox) = &self.mailbox {
                let wake_up = resolve.clone();
                let waker = Box::new(move || {
                    let _ = wake_up.call1(&JsValue::UNDEFINED, &JsValue::TRUE);
                });
                due = !mailbox.arm(wake, waker);
            }
            timer = Some(Timer::start(&resolve, ms));
            if let Some(signal) = &self.signal {
                listener = Some(AbortListener::attach(signal, reject));
            }
        });
        if due {
            return Err(Transport::Interrupted);
        }
        let outcome = JsFuture::from(promise).await;
        if let Some(mailbox) = &self.mailbox {
            mailbox.disarm();
        }
        drop(listener);
        drop(timer);
        match outcome {
            Ok(value) if value.is_truthy() => Err(Transport::Interrupted),
            Ok(_) => Ok(()),
            Err(_) => Err(Transport::Aborted),
        }
    }

    async fn minted_token(&self) -> Result<String, Error> {
        #[cfg(feature = "server")]
        if let Some(minting) = &self.minting {
            return minting.token().await;
        }
        Err(Error::invalid_argument(
            Provider::Gr4vy,
            "No privateKey is configured to mint a token with.",
        ))
    }

    async fn bearer_token(&self, timeout_ms: f64) -> Result<String, TokenFailure> {
        let Some(function) = &self.bearer else {
            return Err(TokenFailure::NotAString);
        };
        let mut value = function
            .call0(&JsValue::UNDEFINED)
            .map_err(|_| TokenFailure::Threw)?;
        if value.has_type::<Promise>() || is_thenable(&value) {
            // Race the token against the caller's signal and the attempt's time, so a token
            // refresh that hangs can neither outlive an abort nor hang the call.
            let expired = Object::new();
            let mut timer = None;
            let mut listener = None;
            let guard = Promise::new(&mut |_resolve, reject| {
                timer = Some(Timer::start(
                    &reject
                        .bind1(&JsValue::NULL, &expired)
                        .unchecked_into::<Function>(),
                    timeout_ms,
                ));
                if let Some(signal) = &self.signal {
                    listener = Some(AbortListener::attach(signal, reject));
                }
            });
            let race = Promise::race(&js_sys::Array::of2(&Promise::resolve(&value), &guard));
            let outcome = JsFuture::from(race).await;
            drop(listener);
            drop(timer);
            value = match outcome {
                Ok(token) => token,
                Err(_) if self.aborted() => return Err(TokenFailure::Aborted),
                Err(reason) if Object::is(&reason, &expired) => return Err(TokenFailure::TimedOut),
                Err(_) => return Err(TokenFailure::Threw),
            };
        }
        if self.aborted() {
            return Err(TokenFailure::Aborted);
        }
        match value.as_string() {
            Some(token) if !token.trim().is_empty() => Ok(token),
            _ => Err(TokenFailure::NotAString),
        }
    }

    fn now_ms(&self) -> f64 {
        js_sys::Date::now()
    }

    fn epoch_ms(&self) -> f64 {
        js_sys::Date::now()
    }

    fn random(&self) -> f64 {
        js_sys::Math::random()
    }

    fn aborted(&self) -> bool {
        self.signal.as_ref().is_some_and(AbortSignal::aborted)
    }

    fn mailbox(&self) -> Option<&Mailbox> {
        self.mailbox.as_deref()
    }
}

/// True for any object with a callable `then`.
fn is_thenable(value: &JsValue) -> bool {
    value.is_object()
        && Reflect::get(value, &JsValue::from_str("then")).is_ok_and(|then| then.is_function())
}

// ---------------------------------------------------------------------------------------------
// WebCrypto: the hashes, MACs and signatures the core asks for (`crate::crypto::Crypto`).

#[cfg(feature = "server")]
#[wasm_bindgen]
extern "C" {
    /// `crypto.subtle`.
    type SubtleCrypto;
    #[wasm_bindgen(method, catch, js_name = importKey)]
    fn import_key(
        this: &SubtleCrypto,
        format: &str,
        data: &Uint8Array,
        algorithm: &Object,
        extractable: bool,
        usages: &js_sys::Array,
    ) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = exportKey)]
    fn export_key(this: &SubtleCrypto, format: &str, key: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn sign(
        this: &SubtleCrypto,
        algorithm: &Object,
        key: &JsValue,
        data: &Uint8Array,
    ) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn digest(this: &SubtleCrypto, algorithm: &str, data: &Uint8Array) -> Result<Promise, JsValue>;
}

#[cfg(feature = "server")]
/// A plain algorithm object, such as `{ name: 'ECDSA', namedCurve: 'P-521' }`.
fn algorithm(members: &[(&str, &str)]) -> Object {
    let object = Object::new();
    for (key, value) in members {
        let _ = Reflect::set(&object, &JsValue::from_str(key), &JsValue::from_str(value));
    }
    object
}

#[cfg(feature = "server")]
/// The runtime's WebCrypto, for one operation. `runtime` names the runtime in messages
/// ("Node.js 20.20.2"), as the shell reported it.
pub struct WebCrypto<'a> {
    subtle: Option<SubtleCrypto>,
    runtime: &'a str,
    provider: Provider,
    /// HMAC keys already imported, by secret: a client's secrets are imported once.
    hmac_keys: Option<&'a HmacKeys>,
}

/// A client's imported HMAC keys (WebCrypto `CryptoKey`s), by secret.
#[cfg(feature = "server")]
pub type HmacKeys = RefCell<Vec<(Vec<u8>, JsValue)>>;

#[cfg(feature = "server")]
impl<'a> WebCrypto<'a> {
    /// The global `crypto.subtle`, if the runtime has one.
    pub fn new(provider: Provider, runtime: &'a str) -> WebCrypto<'a> {
        let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto")).ok();
        let subtle = crypto
            .and_then(|c| Reflect::get(&c, &JsValue::from_str("subtle")).ok())
            .filter(JsValue::is_object)
            .map(JsCast::unchecked_into);
        WebCrypto {
            subtle,
            runtime,
            provider,
            hmac_keys: None,
        }
    }

    /// The same, keeping imported HMAC keys in `keys` for the next verification.
    pub fn with_hmac_keys(mut self, keys: &'a HmacKeys) -> WebCrypto<'a> {
        self.hmac_keys = Some(keys);
        self
    }

    /// What went wrong, naming the runtime; never a key byte (WebCrypto's own words are left
    /// out: they could quote input).
    fn failed(&self, what: &str) -> Error {
        let mut message = String::from("This runtime's WebCrypto (");
        message.push_str(self.runtime);
        message.push_str(") could not ");
        message.push_str(what);
        message.push_str(". token-status needs crypto.subtle with ECDSA P-521, SHA-256 and HMAC, as Node 18+, Deno, Bun, Cloudflare Workers and current browsers have.");
        Error::invalid_argument(self.provider, message)
    }

    async fn run(
        &self,
        what: &str,
        call: impl FnOnce(&SubtleCrypto) -> Result<Promise, JsValue>,
    ) -> Result<JsValue, Error> {
        let subtle = self.subtle.as_ref().ok_or_else(|| self.failed(what))?;
        let promise = call(subtle).map_err(|_| self.failed(what))?;
        JsFuture::from(promise).await.map_err(|_| self.failed(what))
    }

    async fn bytes(
        &self,
        what: &str,
        call: impl FnOnce(&SubtleCrypto) -> Result<Promise, JsValue>,
    ) -> Result<Vec<u8>, Error> {
        let buffer = self.run(what, call).await?;
        Ok(Uint8Array::new(&buffer).to_vec())
    }

    async fn bytes32(
        &self,
        what: &str,
        call: impl FnOnce(&SubtleCrypto) -> Result<Promise, JsValue>,
    ) -> Result<[u8; 32], Error> {
        self.bytes(what, call)
            .await?
            .try_into()
            .map_err(|_| self.failed(what))
    }
}

#[cfg(feature = "server")]
impl Crypto for WebCrypto<'_> {
    type SigningKey = JsValue;

    async fn sha256(&self, data: &[u8]) -> Result<[u8; 32], Error> {
        let data = Uint8Array::from(data);
        self.bytes32("hash with SHA-256", |s| s.digest("SHA-256", &data))
            .await
    }

    async fn hmac_sha256(&self, key: &[u8], data: &[u8]) -> Result<[u8; 32], Error> {
        let what = "compute an HMAC-SHA256";
        let hmac = algorithm(&[("name", "HMAC"), ("hash", "SHA-256")]);
        let cached = self.hmac_keys.and_then(|keys| {
            let keys = keys.borrow();
            keys.iter()
                .find(|(k, _)| k == key)
                .map(|(_, imported)| imported.clone())
        });
        let imported = match cached {
            Some(imported) => imported,
            None => {
                let raw = Uint8Array::from(key);
                let usages = js_sys::Array::of1(&JsValue::from_str("sign"));
                let imported = self
                    .run(what, |s| s.import_key("raw", &raw, &hmac, false, &usages))
                    .await?;
                if let Some(keys) = self.hmac_keys {
                    keys.borrow_mut().push((key.to_vec(), imported.clone()));
                }
                imported
            }
        };
        let data = Uint8Array::from(data);
        self.bytes32(what, |s| s.sign(&hmac, &imported, &data))
            .await
    }

    async fn import_p521(
        &self,
        pkcs8: &[u8],
        want_public: bool,
    ) -> Result<(JsValue, Option<(String, String)>), Error> {
        let what = "import an ECDSA P-521 key";
        let der = Uint8Array::from(pkcs8);
        let ecdsa = algorithm(&[("name", "ECDSA"), ("namedCurve", "P-521")]);
        let usages = js_sys::Array::of1(&JsValue::from_str("sign"));
        let mut public = None;
        if want_public {
            // Only to read the public point: the key that signs is never extractable.
            let exportable = self
                .run(what, |s| s.import_key("pkcs8", &der, &ecdsa, true, &usages))
                .await?;
            let jwk = self.run(what, |s| s.export_key("jwk", &exportable)).await?;
            let member = |name: &str| {
                Reflect::get(&jwk, &JsValue::from_str(name))
                    .ok()
                    .and_then(|v| v.as_string())
            };
            public = member("x").zip(member("y"));
        }
        let key = self
            .run(what, |s| {
                s.import_key("pkcs8", &der, &ecdsa, false, &usages)
            })
            .await?;
        Ok((key, public))
    }

    async fn sign_es512(&self, key: &JsValue, data: &[u8]) -> Result<Vec<u8>, Error> {
        let data = Uint8Array::from(data);
        let ecdsa = algorithm(&[("name", "ECDSA"), ("hash", "SHA-512")]);
        self.bytes("sign with ECDSA P-521", |s| s.sign(&ecdsa, key, &data))
            .await
    }
}

#[cfg(feature = "server")]
/// 16 random bytes from `crypto.getRandomValues` (each minted token's `jti`).
fn random_16() -> [u8; 16] {
    let bytes = Uint8Array::new_with_length(16);
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"));
    let fill = crypto
        .as_ref()
        .ok()
        .and_then(|c| Reflect::get(c, &JsValue::from_str("getRandomValues")).ok())
        .filter(JsValue::is_function);
    match (crypto, fill) {
        (Ok(crypto), Some(fill)) => {
            let _ = fill.unchecked_ref::<Function>().call1(&crypto, &bytes);
        }
        // No WebCrypto at all: signing fails anyway; still never a constant jti.
        _ => {
            for i in 0..16 {
                bytes.set_index(i, (js_sys::Math::random() * 256.0) as u8);
            }
        }
    }
    let mut out = [0u8; 16];
    bytes.copy_to(&mut out);
    out
}

/// The browser build has no Gr4vy keys: a client never holds one.
#[cfg(not(feature = "server"))]
pub enum Minting {}

#[cfg(feature = "server")]
/// A Gr4vy client's API key and scopes, and the minter made from them on the first attempt
/// that needs a token (importing the key and computing its id take WebCrypto, which is async).
pub struct Minting {
    /// The parsed key.
    pub key: PrivateKey,
    /// The tokens' `scopes` claim.
    pub scopes: Vec<String>,
    /// The runtime's name, for messages.
    pub runtime: String,
    minter: RefCell<Option<Rc<TokenMinter<JsValue>>>>,
}

#[cfg(feature = "server")]
impl Minting {
    /// Minting for `key` with `scopes`; nothing is imported yet.
    pub fn new(key: PrivateKey, scopes: Vec<String>, runtime: String) -> Minting {
        Minting {
            key,
            scopes,
            runtime,
            minter: RefCell::new(None),
        }
    }

    /// A token for an attempt now: the last one while fresh, else a newly signed one.
    async fn token(&self) -> Result<String, Error> {
        let crypto = WebCrypto::new(Provider::Gr4vy, &self.runtime);
        let existing = self.minter.borrow().clone();
        let minter = match existing {
            Some(minter) => minter,
            None => {
                let minter =
                    Rc::new(TokenMinter::new(&crypto, &self.key, self.scopes.clone()).await?);
                *self.minter.borrow_mut() = Some(minter.clone());
                minter
            }
        };
        let now = (js_sys::Date::now() / 1000.0) as u64;
        minter.bearer(&crypto, now, random_16).await
    }
}
