//! Helpers for the cross-runtime integration suite: unique ids, option objects, the three
//! clients behind one small interface, the simulator's control API (flows, faults, request log),
//! timers, and assertions on `TokenStatus` objects and `TokenStatusError`s.
//!
//! Everything here talks to the simulator started outside the test (`www/simulator/serve.mjs`); its
//! base URL comes from `TOKEN_STATUS_SIM_URL` at compile time. Every helper that creates state
//! there uses fresh ids, so runs in several runtimes can share one simulator.

#![allow(dead_code)]

mod clients;

pub use clients::{Gr4vyClient, TokenIoClient, TruemedClient};

use gloo_net::http::Request;
use js_sys::{Array, Date, Function, JSON, Math, Object, Promise, Reflect};
use std::cell::Cell;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

// ---------------------------------------------------------------------------------------------
// Simulator address and unique ids

/// The simulator's base URL, without a trailing slash.
pub fn sim() -> &'static str {
    option_env!("TOKEN_STATUS_SIM_URL")
        .unwrap_or("http://127.0.0.1:8787")
        .trim_end_matches('/')
}

thread_local! {
    static COUNTER: Cell<u32> = const { Cell::new(0) };
    static RUN: String = {
        let now = Date::now() as u64;
        let random = (Math::random() * 2_176_782_336.0) as u64; // 36^6
        format!("{}{}", base36(now), base36(random))
    };
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    if n == 0 {
        return "0".to_owned();
    }
    let mut out = Vec::new();
    while n > 0 {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).unwrap()
}

/// A fresh id, unique across tests, runs and runtimes: `prefix-<run>-<n>`.
pub fn uid(prefix: &str) -> String {
    let n = COUNTER.with(|c| {
        c.set(c.get() + 1);
        c.get()
    });
    RUN.with(|run| format!("{prefix}-{run}-{n}"))
}

/// A fresh Token.io-style id (`rq:<base58-ish>:<suffix>`), with colons.
pub fn tokenio_id() -> String {
    format!("rq:{}:5zKtXEAq", uid("it").replace('-', ""))
}

// ---------------------------------------------------------------------------------------------
// JavaScript values

/// Parses JSON; panics on malformed test input.
pub fn json(text: &str) -> JsValue {
    JSON::parse(text).unwrap_or_else(|_| panic!("bad JSON in test: {text}"))
}

/// `JSON.stringify(value)`, or a description when it cannot be stringified.
pub fn stringify(value: &JsValue) -> String {
    JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| format!("{value:?}"))
}

/// `value[key]` (undefined when absent).
pub fn field(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// `value[key]` as a string, when it is one.
pub fn text(value: &JsValue, key: &str) -> Option<String> {
    field(value, key).as_string()
}

/// `value[key]` as a number, when it is one.
pub fn number(value: &JsValue, key: &str) -> Option<f64> {
    field(value, key).as_f64()
}

/// `value[key]` as a boolean, when it is one.
pub fn boolean(value: &JsValue, key: &str) -> Option<bool> {
    field(value, key).as_bool()
}

/// Sets `object[key] = value`.
pub fn set(object: &JsValue, key: &str, value: &JsValue) {
    Reflect::set(object, &JsValue::from_str(key), value).expect("Reflect.set");
}

/// An options object: `base` with `extra`'s members assigned over it; a member set to `null`
/// in `extra` removes that option.
pub fn merge(base: &str, extra: &str) -> JsValue {
    let target: Object = json(base).unchecked_into();
    let source: Object = json(if extra.is_empty() { "{}" } else { extra }).unchecked_into();
    for key in Object::keys(&source).iter() {
        let value = Reflect::get(&source, &key).unwrap();
        if value.is_null() {
            Reflect::delete_property(&target, &key).unwrap();
        } else {
            Reflect::set(&target, &key, &value).unwrap();
        }
    }
    target.into()
}

/// True when `value` is an object whose prototype chain contains `class.prototype`.
pub fn instance_of(value: &JsValue, class: &JsValue) -> bool {
    let Ok(prototype) = Reflect::get(class, &JsValue::from_str("prototype")) else {
        return false;
    };
    match prototype.dyn_into::<Object>() {
        Ok(prototype) => value.is_object() && prototype.is_prototype_of(value),
        Err(_) => false,
    }
}

/// True when the test runs in a browser page or worker (not Node).
pub fn in_browser() -> bool {
    let global = js_sys::global();
    let has = |name: &str| {
        Reflect::get(&global, &JsValue::from_str(name)).is_ok_and(|v| !v.is_undefined())
    };
    if has("document") {
        return true;
    }
    let scope = Reflect::get(&global, &JsValue::from_str("WorkerGlobalScope"))
        .unwrap_or(JsValue::UNDEFINED);
    scope.is_function() && instance_of(&global, &scope)
}

/// Which runtime this is, for messages.
pub fn runtime() -> &'static str {
    if in_browser() { "browser" } else { "node" }
}

// ---------------------------------------------------------------------------------------------
// Timers and promises

/// A promise that resolves after `ms` (the global `setTimeout`).
pub fn delay(ms: f64) -> Promise {
    delayed(ms, &JsValue::UNDEFINED)
}

/// A promise that resolves to `value` after `ms`.
pub fn delayed(ms: f64, value: &JsValue) -> Promise {
    Promise::new(&mut |resolve, _reject| {
        let global = js_sys::global();
        let set_timeout: Function = Reflect::get(&global, &JsValue::from_str("setTimeout"))
            .expect("setTimeout")
            .unchecked_into();
        set_timeout
            .call3(&global, &resolve, &JsValue::from_f64(ms), value)
            .expect("setTimeout call");
    })
}

/// Waits `ms` milliseconds.
pub async fn sleep(ms: f64) {
    JsFuture::from(delay(ms)).await.expect("sleep");
}

/// Milliseconds since the epoch.
pub fn now() -> f64 {
    Date::now()
}

/// The outcome of a promise.
pub async fn settle(promise: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(promise).await
}

/// A short description of an error (or any value), for assertion messages.
pub fn describe(value: &JsValue) -> String {
    if value.is_object() && field(value, "kind").is_string() {
        format!(
            "{} kind={} provider={} status={} code={} attempts={} retryable={} message={}",
            text(value, "name").unwrap_or_default(),
            text(value, "kind").unwrap_or_default(),
            text(value, "provider").unwrap_or_default(),
            stringify(&field(value, "status")),
            stringify(&field(value, "code")),
            stringify(&field(value, "attempts")),
            stringify(&field(value, "retryable")),
            text(value, "message").unwrap_or_default(),
        )
    } else if value.is_object() && field(value, "message").is_string() {
        format!(
            "{}: {}",
            text(value, "name").unwrap_or_default(),
            text(value, "message").unwrap_or_default()
        )
    } else {
        stringify(value)
    }
}

/// Awaits a promise that must resolve.
pub async fn resolves(promise: Promise, what: &str) -> JsValue {
    match settle(promise).await {
        Ok(value) => value,
        Err(error) => panic!("{what}: expected success, got {}", describe(&error)),
    }
}

/// Awaits a promise that must reject.
pub async fn rejects(promise: Promise, what: &str) -> JsValue {
    match settle(promise).await {
        Ok(value) => panic!("{what}: expected a rejection, got {}", stringify(&value)),
        Err(error) => error,
    }
}

/// Checks that `error` is a `TokenStatusError` (an `Error` named `TokenStatusError`, whatever
/// class is registered) of `kind` from `provider`, with every documented field present.
pub fn assert_error(error: &JsValue, kind: &str, provider: &str, what: &str) {
    assert!(
        error.is_instance_of::<js_sys::Error>(),
        "{what}: not an Error: {}",
        describe(error)
    );
    assert_eq!(
        text(error, "name").as_deref(),
        Some("TokenStatusError"),
        "{what}: name ({})",
        describe(error)
    );
    assert_eq!(
        text(error, "kind").as_deref(),
        Some(kind),
        "{what}: kind ({})",
        describe(error)
    );
    assert_eq!(
        text(error, "provider").as_deref(),
        Some(provider),
        "{what}: provider ({})",
        describe(error)
    );
    let message = text(error, "message").unwrap_or_default();
    assert!(!message.is_empty(), "{what}: empty message");
    for key in ["status", "code", "traceId", "lastStatus"] {
        let value = field(error, key);
        assert!(
            !value.is_undefined(),
            "{what}: field {key} missing ({})",
            describe(error)
        );
    }
    for key in ["retryable", "external"] {
        assert!(
            field(error, key).as_bool().is_some(),
            "{what}: field {key} is not a boolean ({})",
            describe(error)
        );
    }
    assert!(
        field(error, "attempts").as_f64().is_some(),
        "{what}: attempts is not a number ({})",
        describe(error)
    );
}

/// Checks `error.attempts`, `error.retryable` and `error.status` (None = null).
pub fn assert_details(
    error: &JsValue,
    attempts: u32,
    retryable: bool,
    status: Option<u16>,
    what: &str,
) {
    assert_eq!(
        number(error, "attempts"),
        Some(f64::from(attempts)),
        "{what}: attempts ({})",
        describe(error)
    );
    assert_eq!(
        boolean(error, "retryable"),
        Some(retryable),
        "{what}: retryable ({})",
        describe(error)
    );
    match status {
        Some(status) => assert_eq!(
            number(error, "status"),
            Some(f64::from(status)),
            "{what}: status ({})",
            describe(error)
        ),
        None => assert!(
            field(error, "status").is_null(),
            "{what}: status should be null ({})",
            describe(error)
        ),
    }
}

/// Checks a string member of a status (None = null).
pub fn assert_member(status: &JsValue, key: &str, expected: Option<&str>, what: &str) {
    let value = field(status, key);
    match expected {
        Some(expected) => assert_eq!(
            value.as_string().as_deref(),
            Some(expected),
            "{what}: {key} in {}",
            stringify(status)
        ),
        None => assert!(
            value.is_null(),
            "{what}: {key} should be null in {}",
            stringify(status)
        ),
    }
}

/// Checks `state` and `terminal` of a status.
pub fn assert_state(status: &JsValue, state: &str, terminal: bool, what: &str) {
    assert_eq!(
        text(status, "state").as_deref(),
        Some(state),
        "{what}: state in {}",
        stringify(status)
    );
    assert_eq!(
        boolean(status, "terminal"),
        Some(terminal),
        "{what}: terminal in {}",
        stringify(status)
    );
}

/// The sorted own keys of an object.
pub fn keys(value: &JsValue) -> Vec<String> {
    let mut keys: Vec<String> = Object::keys(value.unchecked_ref::<Object>())
        .iter()
        .filter_map(|k| k.as_string())
        .collect();
    keys.sort();
    keys
}

// ---------------------------------------------------------------------------------------------
// The simulator's control API

/// Sends a control request; returns the HTTP status and the body text.
pub async fn sim_request(method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let url = format!("{}{path}", sim());
    let builder = match method {
        "GET" => Request::get(&url),
        "POST" => Request::post(&url),
        "DELETE" => Request::delete(&url),
        other => panic!("unsupported method {other}"),
    };
    let request = match body {
        Some(body) => builder
            .header("content-type", "application/json")
            .body(body)
            .expect("request body"),
        None => builder.build().expect("request"),
    };
    let response = request.send().await.unwrap_or_else(|e| {
        panic!(
            "the simulator at {} did not answer {method} {path} ({e}); start it with `node www/simulator/serve.mjs --port 8787`",
            sim()
        )
    });
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    (status, text)
}

/// Creates a flow (`POST /_sim/flows`); returns the flow view.
pub async fn create_flow(spec: &str) -> JsValue {
    let (status, body) = sim_request("POST", "/_sim/flows", Some(spec)).await;
    assert_eq!(status, 201, "POST /_sim/flows {spec} -> {body}");
    json(&body)
}

/// The flow view (`GET /_sim/flows/{id}`).
pub async fn flow_view(id: &str) -> JsValue {
    let path = format!(
        "/_sim/flows/{}",
        String::from(js_sys::encode_uri_component(id))
    );
    let (status, body) = sim_request("GET", &path, None).await;
    assert_eq!(status, 200, "GET {path} -> {body}");
    json(&body)
}

/// Queues faults (a JSON array) for requests whose path id is `id`.
pub async fn fault(id: &str, faults: &str) {
    fault_matching(&format!("{{\"id\":{}}}", quote(id)), faults).await;
}

/// Queues faults (a JSON array) for requests matching `matcher` (a JSON object).
pub async fn fault_matching(matcher: &str, faults: &str) {
    let spec = format!("{{\"match\":{matcher},\"faults\":{faults}}}");
    let (status, body) = sim_request("POST", "/_sim/faults", Some(&spec)).await;
    assert_eq!(status, 201, "POST /_sim/faults {spec} -> {body}");
}

/// A JSON string literal.
pub fn quote(text: &str) -> String {
    stringify(&JsValue::from_str(text))
}

/// The request log for one path id, oldest first.
pub async fn log(id: &str) -> Vec<JsValue> {
    let path = format!(
        "/_sim/requests?id={}",
        String::from(js_sys::encode_uri_component(id))
    );
    log_at(&path).await
}

/// Waits (up to 2 s) until the log holds at least `n` requests for `id`; returns them.
pub async fn wait_for_log(id: &str, n: usize) -> Vec<JsValue> {
    let start = now();
    loop {
        let entries = log(id).await;
        if entries.len() >= n || now() - start > 2000.0 {
            return entries;
        }
        sleep(10.0).await;
    }
}

/// The request log of one provider, filtered to the requests carrying `x-test-marker: marker`.
pub async fn log_marked(provider: &str, marker: &str) -> Vec<JsValue> {
    let path = format!("/_sim/requests?provider={provider}");
    log_at(&path)
        .await
        .into_iter()
        .filter(|entry| text(&field(entry, "headers"), "x-test-marker").as_deref() == Some(marker))
        .collect()
}

async fn log_at(path: &str) -> Vec<JsValue> {
    let (status, body) = sim_request("GET", path, None).await;
    assert_eq!(status, 200, "GET {path} -> {body}");
    let list: Array = json(&body).unchecked_into();
    list.iter().collect()
}

/// A log entry's `time`, in ms since the epoch.
pub fn logged_at(entry: &JsValue) -> f64 {
    Date::parse(&text(entry, "time").expect("log entry time"))
}

/// A log entry's header (lower-case name).
pub fn logged_header(entry: &JsValue, name: &str) -> Option<String> {
    text(&field(entry, "headers"), name)
}

// ---------------------------------------------------------------------------------------------
// The three clients

/// Simulator credentials.
pub const TRUEMED_KEY: &str = "sim-truemed-key";
pub const GR4VY_TOKEN: &str = "sim-gr4vy-token";
pub const TOKENIO_BASIC: &str = "c2ltOnRva2VuaW8=";
pub const TOKENIO_BEARER: &str = "sim-tokenio-token";

/// Fast retries for tests.
pub const FAST_RETRY: &str = r#"{"initialDelayMs":10,"maxDelayMs":50}"#;

/// A provider, for tests that run the same checks on all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum P {
    Truemed,
    Gr4vy,
    TokenIo,
}

impl P {
    pub const ALL: [P; 3] = [P::Truemed, P::Gr4vy, P::TokenIo];

    /// The `provider` value of statuses and errors.
    pub fn name(self) -> &'static str {
        match self {
            P::Truemed => "truemed",
            P::Gr4vy => "gr4vy",
            P::TokenIo => "tokenio",
        }
    }

    /// The simulator base URL for this provider.
    pub fn base_url(self) -> String {
        format!("{}/{}", sim(), self.name())
    }

    /// Default test options: simulator baseUrl, credential, allowBrowserCredentials, fast retries.
    pub fn base_options(self) -> String {
        let credential = match self {
            P::Truemed => format!("\"apiKey\":{}", quote(TRUEMED_KEY)),
            P::Gr4vy => format!("\"bearerToken\":{}", quote(GR4VY_TOKEN)),
            P::TokenIo => format!("\"basicCredentials\":{}", quote(TOKENIO_BASIC)),
        };
        format!(
            "{{\"baseUrl\":{},{credential},\"allowBrowserCredentials\":true,\"retry\":{FAST_RETRY}}}",
            quote(&self.base_url())
        )
    }

    /// The default options with `extra` merged over them (`null` removes an option).
    pub fn options(self, extra: &str) -> JsValue {
        merge(&self.base_options(), extra)
    }

    /// Constructs this provider's client from `options`.
    pub fn try_client(self, options: &JsValue) -> Result<Client, JsValue> {
        Ok(match self {
            P::Truemed => Client::Truemed(TruemedClient::new(options.clone())?),
            P::Gr4vy => Client::Gr4vy(Gr4vyClient::new(options.clone())?),
            P::TokenIo => Client::TokenIo(TokenIoClient::new(options.clone())?),
        })
    }

    /// A client with the default options and `extra` merged over them.
    pub fn client(self, extra: &str) -> Client {
        match self.try_client(&self.options(extra)) {
            Ok(client) => client,
            Err(error) => panic!("{} client {extra}: {}", self.name(), describe(&error)),
        }
    }

    /// Creates a flow and returns the target to look up. For Gr4vy the key is the payment
    /// method id (what the simulator's faults and log match), and the flow is its only token.
    pub async fn target(self, outcome: &str, pending_polls: u32) -> Target {
        let key = match self {
            P::TokenIo => tokenio_id(),
            _ => uid(self.name()),
        };
        self.target_with_key(&key, outcome, pending_polls).await
    }

    /// Like [`P::target`] with a given key.
    pub async fn target_with_key(self, key: &str, outcome: &str, pending_polls: u32) -> Target {
        let spec = match self {
            P::Gr4vy => format!(
                "{{\"provider\":\"gr4vy\",\"paymentMethodId\":{},\"outcome\":{},\"pendingPolls\":{pending_polls}}}",
                quote(key),
                quote(outcome)
            ),
            _ => format!(
                "{{\"provider\":{},\"id\":{},\"outcome\":{},\"pendingPolls\":{pending_polls}}}",
                quote(self.name()),
                quote(key),
                quote(outcome)
            ),
        };
        let view = create_flow(&spec).await;
        Target {
            provider: self,
            key: key.to_owned(),
            flow_id: text(&view, "id").expect("flow id"),
        }
    }
}

/// A flow to look up: `key` is the id in the path (Gr4vy: payment method id).
#[derive(Debug, Clone)]
pub struct Target {
    pub provider: P,
    pub key: String,
    pub flow_id: String,
}

impl Target {
    /// Checks a resolved lookup of this target: its own status (Gr4vy: a list holding it).
    pub fn assert_found(&self, value: &JsValue, what: &str) -> JsValue {
        let status = if self.provider == P::Gr4vy {
            assert!(
                Array::is_array(value),
                "{what}: not a list: {}",
                stringify(value)
            );
            let list: &Array = value.unchecked_ref();
            assert_eq!(list.length(), 1, "{what}: {}", stringify(value));
            list.get(0)
        } else {
            value.clone()
        };
        assert_eq!(
            text(&status, "id").as_deref(),
            Some(self.flow_id.as_str()),
            "{what}: id in {}",
            stringify(&status)
        );
        assert_eq!(
            text(&status, "provider").as_deref(),
            Some(self.provider.name()),
            "{what}: provider in {}",
            stringify(&status)
        );
        status
    }
}

/// Any of the three clients.
pub enum Client {
    Truemed(TruemedClient),
    Gr4vy(Gr4vyClient),
    TokenIo(TokenIoClient),
}

impl Client {
    /// The basic lookup by path id: Truemed and Token.io status, Gr4vy list.
    pub fn lookup(&self, id: &JsValue, options: &JsValue) -> Promise {
        match self {
            Client::Truemed(c) => c.get_provision_token_request(id.clone(), options.clone()),
            Client::Gr4vy(c) => {
                c.list_payment_service_tokens(id.clone(), JsValue::UNDEFINED, options.clone())
            }
            Client::TokenIo(c) => c.get_token_request_result(id.clone(), options.clone()),
        }
    }

    /// The wait method for a target (Gr4vy: its one token).
    pub fn wait_for(&self, target: &Target, options: &JsValue) -> Promise {
        let key = JsValue::from_str(&target.key);
        match self {
            Client::Truemed(c) => c.wait_for_provision_token_request(key, options.clone()),
            Client::Gr4vy(c) => c.wait_for_payment_service_token(
                key,
                JsValue::from_str(&target.flow_id),
                options.clone(),
            ),
            Client::TokenIo(c) => c.wait_for_token_request_result(key, options.clone()),
        }
    }

    /// The wait method by path id (Truemed and Token.io).
    pub fn get_wait(&self, id: &str, options: &JsValue) -> Promise {
        let key = JsValue::from_str(id);
        match self {
            Client::Truemed(c) => c.wait_for_provision_token_request(key, options.clone()),
            Client::TokenIo(c) => c.wait_for_token_request_result(key, options.clone()),
            Client::Gr4vy(_) => panic!("Gr4vy waits need a token id: use wait_for"),
        }
    }

    /// `notify(status)`: how many waits it reached.
    pub fn notify(&self, status: &JsValue) -> u32 {
        match self {
            Client::Truemed(c) => c.notify(status),
            Client::Gr4vy(c) => c.notify(status),
            Client::TokenIo(c) => c.notify(status),
        }
    }

    /// [`Client::lookup`] of a string id without call options.
    pub fn get(&self, id: &str) -> Promise {
        self.lookup(&JsValue::from_str(id), &JsValue::UNDEFINED)
    }

    pub fn gr4vy(&self) -> &Gr4vyClient {
        match self {
            Client::Gr4vy(c) => c,
            _ => panic!("not a Gr4vy client"),
        }
    }

    pub fn tokenio(&self) -> &TokenIoClient {
        match self {
            Client::TokenIo(c) => c,
            _ => panic!("not a Token.io client"),
        }
    }

    pub fn truemed(&self) -> &TruemedClient {
        match self {
            Client::Truemed(c) => c,
            _ => panic!("not a Truemed client"),
        }
    }
}

/// Call options with an `AbortSignal` (and any JSON members).
pub fn call_options(extra: &str, signal: Option<&web_sys::AbortSignal>) -> JsValue {
    let options = merge("{}", extra);
    if let Some(signal) = signal {
        set(&options, "signal", signal);
    }
    options
}

/// A JavaScript function from a Rust closure (kept alive by the JavaScript side).
pub fn function(f: impl FnMut() -> Result<JsValue, JsValue> + 'static) -> Function {
    Closure::<dyn FnMut() -> Result<JsValue, JsValue>>::new(f)
        .into_js_value()
        .unchecked_into()
}

/// Calls a method by name through the JavaScript object, as JavaScript code would.
pub fn call_method(object: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let method: Function = field(object, name).dyn_into().expect("method exists");
    let list = Array::new();
    for arg in args {
        list.push(arg);
    }
    Reflect::apply(&method, object, &list)
}
