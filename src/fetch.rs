//! The one place that performs I/O. [`FetchClient`] implements the client's side of the seam
//! ([`Io`]) with the global `fetch`, `AbortController` and the body stream; [`FetchEnv`] one
//! caller's side ([`Env`]) with the module's timer queue and the caller's `AbortSignal`;
//! [`WebCrypto`] implements [`Crypto`] with `crypto.subtle` — so everything runs the same in
//! Node, Deno, Bun, browsers, workers and edge runtimes. Everything they decide is delegated to
//! the pure core; the executor, promise awaiting and the timer are in `runtime.rs`.
//!
//! It calls `fetch(url, init)` itself rather than through gloo-net: gloo-net's request builder
//! constructs every request twice and re-parses its URL (to merge query parameters we never
//! use), which cost measurable time per call and bytes in the module (see bench/RESULTS.md).
//! A request with no headers of its own (every status read with a static credential or none)
//! reuses one `init` object per client, built once with the client's headers.

use crate::call::{Env, Io, TokenFailure, Transport, WakeOn};
use crate::config::ClientConfig;
#[cfg(feature = "server")]
use crate::crypto::Crypto;
use crate::error::Error;
use crate::global::Global;
use crate::http::{INTERESTING_HEADERS, MAX_BODY_BYTES, Method, Request, Response};
#[cfg(feature = "server")]
use crate::jwt::TokenMinter;
#[cfg(feature = "server")]
use crate::keys::PrivateKey;
use crate::runtime::{Doorbell, Settle, Timer, isolated, now};
use crate::share::{Reply, Shared};
use crate::status::Provider;
use crate::waits::{Mailbox, Registration, Waits};
use alloc::borrow::ToOwned;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{Cell, OnceCell, RefCell};
use core::future::Future;
use core::pin::{Pin, pin};
use core::task::{Context, Poll, Waker};
use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use web_sys::{AbortController, AbortSignal, ResponseType};

#[wasm_bindgen]
extern "C" {
    /// The global `fetch` (browsers, workers, Node 18+, Deno, Bun, workerd).
    #[wasm_bindgen(js_name = fetch)]
    fn fetch(url: &str, init: &Init) -> Promise;

    /// A `RequestInit`: a plain object whose members are set through setters (no property
    /// name crosses the boundary as a string).
    #[wasm_bindgen(extends = Object)]
    #[derive(Clone)]
    type Init;
    #[wasm_bindgen(method, setter)]
    fn set_signal(this: &Init, signal: &AbortSignal);
    #[wasm_bindgen(method, setter)]
    fn set_headers(this: &Init, headers: &Object);
    #[wasm_bindgen(method, setter)]
    fn set_method(this: &Init, method: &str);
    #[wasm_bindgen(method, setter)]
    fn set_body(this: &Init, body: &str);
}

/// A request init with the headers `headers` (and a signal set per request).
fn init_with(request: &Request, headers: &[(&str, &str)]) -> Init {
    let init: Init = Object::new().unchecked_into();
    if request.method != Method::Get {
        init.set_method(request.method.as_str());
    }
    if !headers.is_empty() {
        let object = Object::new();
        for (name, value) in headers {
            let _ = Reflect::set(&object, &JsValue::from_str(name), &JsValue::from_str(value));
        }
        init.set_headers(&object);
    }
    if let Some(body) = &request.body {
        init.set_body(body);
    }
    init
}

/// Requests one `AbortController` serves, at most (see [`Controller`]).
const REUSES: u32 = 8;

/// Unused controllers kept for the next requests.
const SPARE: usize = 256;

static SPARE_CONTROLLERS: Global<Vec<Controller>> = Global::new(Vec::new());

/// The `AbortController` of a request. Making one, and the runtime's bookkeeping for a new
/// signal (Node's fetch adds a listener and sets its listener limit on each), cost more per
/// request than anything else here, so a controller whose request ended normally — never
/// aborted — serves the next requests too (at most [`REUSES`], so the listeners a fetch leaves
/// on it until garbage collection stay few). A request that must be stopped (its time ran out,
/// its callers went away) aborts its controller, which is then never used again: aborting one
/// stops exactly one request in flight.
struct Controller {
    controller: AbortController,
    signal: AbortSignal,
    uses: u32,
}

impl Controller {
    fn take() -> Result<Controller, JsValue> {
        if let Some(spare) = SPARE_CONTROLLERS.with(|spare| spare.pop()) {
            return Ok(spare);
        }
        let controller = AbortController::new()?;
        let signal = controller.signal();
        Ok(Controller {
            controller,
            signal,
            uses: 0,
        })
    }

    fn give_back(mut self) {
        self.uses += 1;
        if self.uses < REUSES {
            SPARE_CONTROLLERS.with(|spare| {
                if spare.len() < SPARE {
                    spare.push(self);
                }
            });
        }
    }
}

/// Aborts a request when dropped before [`AbortOnDrop::done`]: a caller (or the last caller of a
/// shared request) went away, or its time ran out.
struct AbortOnDrop(Option<Controller>);

impl AbortOnDrop {
    /// The request ended by itself: its controller may serve another one.
    fn done(&mut self, reusable: bool) {
        if let Some(controller) = self.0.take() {
            if reusable {
                controller.give_back();
            }
        }
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(controller) = self.0.take() {
            controller.controller.abort();
        }
    }
}

/// What a client holds: its configuration, its `bearerToken` function or Gr4vy API key, its
/// webhook secrets, what its calls share, and its waits in flight (which webhooks, `notify()`
/// and other calls' Gr4vy lists reach).
pub struct FetchClient {
    /// The client's settings.
    pub config: ClientConfig,
    /// The client's attempts and places in flight.
    pub shared: Shared,
    /// The `bearerToken` function, when the credential is dynamic.
    pub bearer: Option<Function>,
    /// The Gr4vy API key tokens are minted from, when the client has one (never, in the
    /// browser build).
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub minting: Option<Rc<Minting>>,
    /// Webhook secrets.
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub webhook_secrets: Vec<String>,
    /// The runtime's name, for messages ("Node.js 20.20.2").
    #[cfg_attr(not(feature = "server"), allow(dead_code))]
    pub runtime: String,
    /// The waits in flight.
    pub waits: Waits,
    /// The webhook secrets imported into WebCrypto, once each.
    #[cfg(feature = "server")]
    pub hmac_keys: HmacKeys,
    /// The init of a request with no headers of its own, built on first use.
    init: OnceCell<Init>,
}

impl FetchClient {
    /// A client with nothing in flight.
    pub fn new(
        config: ClientConfig,
        bearer: Option<Function>,
        minting: Option<Rc<Minting>>,
        webhook_secrets: Vec<String>,
        runtime: String,
    ) -> FetchClient {
        FetchClient {
            config,
            shared: if isolated() {
                Shared::isolated()
            } else {
                Shared::default()
            },
            bearer,
            minting,
            webhook_secrets,
            runtime,
            waits: Waits::default(),
            #[cfg(feature = "server")]
            hmac_keys: HmacKeys::default(),
            init: OnceCell::new(),
        }
    }

    /// The request init for `request`: the client's shared one when the request adds no
    /// header or body of its own.
    fn init(&self, request: &Request) -> Init {
        let plain =
            request.method == Method::Get && request.headers.is_empty() && request.body.is_none();
        if plain {
            return self
                .init
                .get_or_init(|| init_with(request, &self.config.request_headers(&[])))
                .clone();
        }
        init_with(request, &self.config.request_headers(&request.headers))
    }
}

impl Io for FetchClient {
    fn config(&self) -> &ClientConfig {
        &self.config
    }

    fn shared(&self) -> &Shared {
        &self.shared
    }

    async fn fetch(&self, request: &Request) -> Result<Response, String> {
        let controller = Controller::take().map_err(|e| describe(&e))?;
        let init = self.init(request);
        // fetch reads its init at once: the shared init's signal can be set for each request.
        init.set_signal(&controller.signal);
        let promise = fetch(&request.url, &init);
        let mut abort = AbortOnDrop(Some(controller));
        let outcome = read(promise).await.map_err(|error| describe(&error));
        abort.done(outcome.is_ok());
        outcome
    }

    async fn bearer_token(&self) -> Result<String, TokenFailure> {
        let Some(function) = &self.bearer else {
            return Err(TokenFailure::NotAString);
        };
        let mut value = function
            .call0(&JsValue::UNDEFINED)
            .map_err(|_| TokenFailure::Threw)?;
        if value.has_type::<Promise>() || is_thenable(&value) {
            // Its callers bound the wait for it by their own time and signals.
            value = Settle::new(Promise::resolve(&value))
                .await
                .map_err(|_| TokenFailure::Threw)?;
        }
        match value.as_string() {
            Some(token) if !token.trim().is_empty() => Ok(token),
            _ => Err(TokenFailure::NotAString),
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

    fn listed(&self, payment_method_id: &str, reply: &Reply) {
        self.waits.serve(payment_method_id, reply);
    }
}

/// The answer to a request: status, the hint headers of a failure, and the body (at most
/// [`MAX_BODY_BYTES`]).
async fn read(promise: Promise) -> Result<Response, JsValue> {
    let response: web_sys::Response = Settle::new(promise).await?.unchecked_into();
    let status = response.status();
    let headers = response.headers();
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
        let buffer = Settle::new(response.array_buffer()?).await?;
        return Ok((Uint8Array::new(&buffer).to_vec(), false));
    }
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let done_key = JsValue::from_str("done");
    let value_key = JsValue::from_str("value");
    let mut body = Vec::new();
    loop {
        let chunk = Settle::new(reader.read()).await?;
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

/// True for any object with a callable `then`.
fn is_thenable(value: &JsValue) -> bool {
    value.is_object()
        && Reflect::get(value, &JsValue::from_str("then")).is_ok_and(|then| then.is_function())
}

/// The caller's `AbortSignal`, watched for the whole call: one listener, which wakes whatever
/// the call is waiting for.
struct Watch {
    signal: AbortSignal,
    state: Rc<WatchState>,
    listener: Closure<dyn FnMut()>,
}

#[derive(Default)]
struct WatchState {
    fired: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Watch {
    fn new(signal: AbortSignal) -> Watch {
        let state = Rc::new(WatchState::default());
        state.fired.set(signal.aborted());
        let inner = state.clone();
        let listener = Closure::<dyn FnMut()>::new(move || {
            inner.fired.set(true);
            let waker = inner.waker.borrow_mut().take();
            if let Some(waker) = waker {
                waker.wake();
            }
        });
        // An EventTarget call cannot fail for a real AbortSignal; the shell checked it is one.
        let _ = signal.add_event_listener_with_callback("abort", listener.as_ref().unchecked_ref());
        Watch {
            signal,
            state,
            listener,
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self
            .signal
            .remove_event_listener_with_callback("abort", self.listener.as_ref().unchecked_ref());
    }
}

/// The environment of one call: its client, the caller's signal, and for a wait its mailbox.
pub struct FetchEnv {
    client: Rc<FetchClient>,
    watch: Option<Watch>,
    registration: Option<Registration>,
}

impl FetchEnv {
    /// A call on `client` with the caller's `signal`; `registration` when it is a wait.
    pub fn new(
        client: Rc<FetchClient>,
        signal: Option<AbortSignal>,
        registration: Option<Registration>,
    ) -> FetchEnv {
        FetchEnv {
            client,
            watch: signal.map(Watch::new),
            registration,
        }
    }
}

/// `future`, ended early by the signal, by the mailbox (`wake`), and after its time (then
/// `Err(Timeout)`). A plain struct rather than an `async` block: it is part of the state of
/// every call waiting for anything, so it is kept small.
struct Bounded<'e, F> {
    env: &'e FetchEnv,
    future: F,
    end: f64,
    wake: WakeOn,
    keeps_alive: bool,
    timer: Option<Timer>,
    /// Pushed from another request's code (a webhook), a wait resumes through a promise of
    /// its own where requests have their own I/O.
    doorbell: Option<alloc::boxed::Box<Doorbell>>,
}

impl<'e, F: Future + Unpin> Bounded<'e, F> {
    fn new(env: &'e FetchEnv, future: F, ms: f64, wake: WakeOn, keeps_alive: bool) -> Self {
        Bounded {
            env,
            future,
            end: now() + ms,
            wake,
            keeps_alive,
            timer: None,
            doorbell: (isolated() && env.mailbox().is_some())
                .then(|| alloc::boxed::Box::new(Doorbell::new())),
        }
    }
}

impl<F: Future + Unpin> Future for Bounded<'_, F> {
    type Output = Result<F::Output, Transport>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let env = this.env;
        if env.aborted() {
            return Poll::Ready(Err(Transport::Aborted));
        }
        let mailbox = env.mailbox();
        if let Some(mailbox) = mailbox {
            let armed = match &mut this.doorbell {
                Some(doorbell) => {
                    doorbell.listen(cx);
                    mailbox.arm(this.wake, doorbell.waker())
                }
                None => mailbox.arm(this.wake, cx.waker()),
            };
            if !armed {
                return Poll::Ready(Err(Transport::Interrupted));
            }
        }
        let polled = Pin::new(&mut this.future).poll(cx);
        if mailbox.is_some_and(|m| m.would_wake(this.wake)) {
            return Poll::Ready(Err(Transport::Interrupted));
        }
        if let Poll::Ready(value) = polled {
            return Poll::Ready(Ok(value));
        }
        match &this.timer {
            Some(timer) if timer.fired() => return Poll::Ready(Err(Transport::Timeout)),
            Some(timer) => timer.set_waker(cx.waker()),
            // No limit (a queued attempt with no deadline): only the signal ends it.
            None if !this.end.is_finite() => {}
            None => this.timer = Some(Timer::at(this.end, this.keeps_alive, cx.waker())),
        }
        if let Some(watch) = &env.watch {
            let mut waker = watch.state.waker.borrow_mut();
            if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *waker = Some(cx.waker().clone());
            }
        }
        Poll::Pending
    }
}

/// A sleep: a [`Bounded`] wait for nothing, whose time running out is the end it waits for. A
/// plain struct rather than an `async` block: every wait holds one through each of its sleeps.
struct Sleep<'e>(Bounded<'e, core::future::Pending<()>>);

impl Future for Sleep<'_> {
    type Output = Result<(), Transport>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match Pin::new(&mut self.0).poll(cx) {
            Poll::Ready(Err(Transport::Timeout) | Ok(())) => Poll::Ready(Ok(())),
            Poll::Ready(Err(other)) => Poll::Ready(Err(other)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<F> Drop for Bounded<'_, F> {
    fn drop(&mut self) {
        if let Some(mailbox) = self.env.mailbox() {
            mailbox.disarm();
        }
    }
}

impl Env for FetchEnv {
    type Io = FetchClient;

    fn io(&self) -> &Rc<FetchClient> {
        &self.client
    }

    async fn within<F: Future>(
        &self,
        future: F,
        timeout_ms: f64,
        wake: WakeOn,
    ) -> Result<F::Output, Transport> {
        let future = pin!(future);
        Bounded::new(self, future, timeout_ms, wake, false).await
    }

    fn sleep(&self, ms: f64, wake: WakeOn) -> impl Future<Output = Result<(), Transport>> {
        Sleep(Bounded::new(
            self,
            core::future::pending::<()>(),
            ms,
            wake,
            true,
        ))
    }

    fn now_ms(&self) -> f64 {
        now()
    }

    fn epoch_ms(&self) -> f64 {
        js_sys::Date::now()
    }

    fn random(&self) -> f64 {
        js_sys::Math::random()
    }

    fn aborted(&self) -> bool {
        self.watch.as_ref().is_some_and(|w| w.state.fired.get())
    }

    fn mailbox(&self) -> Option<&Mailbox> {
        self.registration.as_ref().map(Registration::mailbox)
    }
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
        Settle::new(promise).await.map_err(|_| self.failed(what))
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
