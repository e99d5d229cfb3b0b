//! The wasm-bindgen exports, and conversion only: the JavaScript shell (`js/`) owns the public
//! classes and checks every option and argument; here its checked settings become a
//! [`ClientConfig`], its checked arguments a prepared call, and statuses and errors plain
//! JavaScript values and `TokenStatusError`s. Every decision stays in the pure core.

use crate::call::{Call, Subject, execute};
use crate::config::{Auth, ClientConfig, Environment};
use crate::error::Error;
#[cfg(feature = "server")]
use crate::fetch::WebCrypto;
use crate::fetch::{FetchClient, FetchEnv, Minting};
use crate::global::Global;
use crate::http::Request;
use crate::json::Value;
use crate::providers::gr4vy::{self, ProvisionParams};
use crate::providers::{tokenio, truemed};
use crate::retry::RetryPolicy;
use crate::runtime::spawn;
use crate::share::Reply;
use crate::status::{Provider, TokenStatus};
use crate::text::concat;
use crate::wait::{WaitPolicy, wait};
use crate::waits::WaitKey;
#[cfg(feature = "server")]
use crate::webhook::{self, Inbound};
use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
#[cfg(feature = "server")]
use core::future::Future;
use js_sys::{Array, Function, JSON, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::AbortSignal;

static ERROR_CLASS: Global<Option<Function>> = Global::new(None);

/// Registers the `TokenStatusError` class the package's shell defines, so that every
/// rejection is an instance of the class users import. Called once when the module loads.
#[wasm_bindgen(js_name = __setErrorClass)]
pub fn set_error_class(class: Function) {
    ERROR_CLASS.with(|slot| *slot = Some(class));
}

/// Called by the Cloudflare Workers entry at load: the I/O of each incoming request is its
/// own there, so calls share nothing across requests and each timer is the call's own.
#[cfg(feature = "server")]
#[wasm_bindgen(js_name = __isolateRequests)]
pub fn isolate_requests() {
    crate::runtime::isolate();
}

/// The wasm linear memory's size in bytes (it only grows): for leak and load tests.
#[wasm_bindgen(js_name = __memoryBytes)]
pub fn memory_bytes() -> f64 {
    (core::arch::wasm32::memory_size(0) * 65_536) as f64
}

/// Converts an [`Error`] into a `TokenStatusError` (or, before one is registered, an `Error`
/// named `TokenStatusError` with the same fields).
pub fn to_js_error(error: &Error) -> JsValue {
    let mut json = String::with_capacity(256);
    error.write_fields_json(&mut json);
    let fields = JSON::parse(&json).unwrap_or_else(|_| Object::new().into());
    if let Some(cause) = &error.cause {
        let _ = Reflect::set(&fields, &JsValue::from_str("cause"), &to_js_error(cause));
    }
    let message = JsValue::from_str(&error.message);
    let class = ERROR_CLASS.with(|slot| slot.clone());
    if let Some(class) = class {
        if let Ok(instance) = Reflect::construct(&class, &Array::of2(&message, &fields)) {
            return instance;
        }
    }
    let plain = js_sys::Error::new(&error.message);
    plain.set_name("TokenStatusError");
    Object::assign(&plain, &fields.unchecked_into());
    plain.into()
}

/// Converts a status into a plain JavaScript object (it survives `JSON.stringify` and
/// `structuredClone`).
pub fn to_js_status(status: &TokenStatus) -> JsValue {
    to_js_statuses(core::slice::from_ref(status), false)
}

/// Converts statuses into plain JavaScript objects: one, or (`list`) an array of them, with a
/// single `JSON.parse` of their JSON text.
fn to_js_statuses(statuses: &[TokenStatus], list: bool) -> JsValue {
    let mut json = String::with_capacity(320 * statuses.len() + 2);
    if list {
        json.push('[');
    }
    for (i, status) in statuses.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        status.write_json(&mut json);
    }
    if list {
        json.push(']');
    }
    JSON::parse(&json).unwrap_or(JsValue::NULL)
}

/// The settings the shell built from checked options (`js/options.js`, `clientSettings`), as
/// the JSON text `js/clients.js` passes (`coreArgs`): a `bearerToken` function and the numbers
/// come as their own arguments (so no float parsing is linked). Absent fields take their
/// defaults; nothing here judges a value.
struct Settings {
    json: Value,
    bearer_token: Option<Function>,
    timeout_ms: f64,
    /// `maxRetries`, `initialDelayMs`, `maxDelayMs`: `NaN` when absent.
    retry: [f64; 3],
}

impl Settings {
    fn text(&self, field: &str) -> Option<String> {
        self.json
            .get(field)
            .and_then(Value::as_str)
            .map(ToOwned::to_owned)
    }

    /// A list of strings (the shell gives arrays), or `None` when absent.
    fn list(&self, field: &str) -> Option<Vec<String>> {
        self.json.get(field).and_then(Value::as_array).map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .map(ToOwned::to_owned)
                .collect()
        })
    }
}

/// The client's configuration and `bearerToken` function from checked settings.
fn configure(provider: Provider, settings: &Settings) -> Result<FetchClient, Error> {
    let environment = match settings.text("environment").as_deref() {
        Some("production") => Environment::Production,
        _ => Environment::Sandbox,
    };
    let base_url = match (settings.text("baseUrl"), provider) {
        (Some(base), _) => crate::http::base_url(&base),
        (None, Provider::Truemed) => truemed::default_base_url(environment).to_owned(),
        (None, Provider::TokenIo) => tokenio::default_base_url(environment).to_owned(),
        (None, Provider::Gr4vy) => match settings.text("instanceId") {
            Some(instance) => gr4vy::default_base_url(&instance, environment),
            None => {
                return Err(Error::invalid_argument(
                    provider,
                    "Gr4vyClient needs instanceId or baseUrl.",
                ));
            }
        },
    };
    let mut config = ClientConfig::new(provider, base_url);
    if let Some(timeout) = given(settings.timeout_ms) {
        config.timeout_ms = timeout;
    }
    if settings.json.get("retry").and_then(Value::as_bool) == Some(false) {
        config.retry = RetryPolicy::DISABLED;
    } else {
        let [max_retries, initial, max] = settings.retry.map(given);
        let policy = &mut config.retry;
        if let Some(n) = max_retries {
            policy.max_retries = n as u32;
        }
        if let Some(ms) = initial {
            policy.initial_delay_ms = ms;
        }
        if let Some(ms) = max {
            policy.max_delay_ms = ms;
        }
    }
    if let Some(Value::Object(headers)) = settings.json.get("headers") {
        for (name, value) in headers {
            if let Some(value) = value.as_str() {
                config
                    .headers
                    .push((name.to_ascii_lowercase(), value.to_owned()));
            }
        }
    }
    let mut bearer = None;
    let mut minting = None;
    let runtime = settings
        .text("runtime")
        .unwrap_or_else(|| "this runtime".to_owned());
    let static_auth = |header: &'static str, scheme: &str, secret: String| Auth::Static {
        header,
        value: concat(&[scheme, &secret]),
        secret,
    };
    match provider {
        Provider::Truemed => {
            if let Some(key) = settings.text("apiKey") {
                config.auth = static_auth(truemed::API_KEY_HEADER, "", key);
            }
        }
        Provider::Gr4vy | Provider::TokenIo => {
            let scheme = if provider == Provider::Gr4vy {
                "bearer"
            } else {
                "Bearer"
            };
            if let Some(function) = &settings.bearer_token {
                config.auth = Auth::Dynamic { scheme };
                bearer = Some(function.clone());
            } else if let Some(token) = settings.text("bearerToken") {
                config.auth = static_auth("authorization", &concat(&[scheme, " "]), token);
            }
            if let Some(basic) = settings.text("basicCredentials") {
                config.auth = static_auth("authorization", "Basic ", basic);
            }
            if let Some(pem) = settings.text("privateKey") {
                config.auth = Auth::Minted;
                minting = Some(minting_for(&pem, settings.list("scopes"), &runtime)?);
            }
            if let Some(account) = settings.text("merchantAccountId") {
                config
                    .headers
                    .insert(0, (gr4vy::MERCHANT_ACCOUNT_HEADER.to_owned(), account));
            }
        }
    }
    Ok(FetchClient::new(
        config,
        bearer,
        minting,
        settings.list("webhookSecrets").unwrap_or_default(),
        runtime,
    ))
}

/// The Gr4vy API key a client mints its tokens from.
#[cfg(feature = "server")]
fn minting_for(
    pem: &str,
    scopes: Option<Vec<String>>,
    runtime: &str,
) -> Result<Rc<Minting>, Error> {
    let key = crate::keys::PrivateKey::from_pem(pem)?;
    let scopes = crate::jwt::scopes(scopes)?;
    Ok(Rc::new(Minting::new(key, scopes, runtime.to_owned())))
}

/// The browser build mints nothing: a Gr4vy key is a server's.
#[cfg(not(feature = "server"))]
fn minting_for(_: &str, _: Option<Vec<String>>, _: &str) -> Result<Rc<Minting>, Error> {
    Err(Error::invalid_argument(
        Provider::Gr4vy,
        "privateKey needs the server build of token-status (Node, Deno, Bun, Cloudflare Workers): the browser build does not mint Gr4vy tokens. Mint them on your server, or point baseUrl at a backend route that adds the credential.",
    ))
}

/// Per-call options: `signal` and `timeoutMs`, and for waits the polling policy and `onUpdate`.
struct CallOptions {
    signal: Option<AbortSignal>,
    timeout_ms: f64,
    wait: Option<(WaitPolicy, Option<Function>)>,
}

/// What a job looks up, and how its 2xx answer is read.
enum Answer {
    /// Truemed provision token request, by id.
    Truemed(Rc<str>),
    /// Token.io token request result, by id.
    TokenIo(Rc<str>),
    /// One Gr4vy payment service token (the provision answer), of this payment method.
    Gr4vyToken(Rc<str>),
    /// A Gr4vy list of this payment method's tokens, returned whole.
    Gr4vyList(Rc<str>),
    /// A Gr4vy list, from which one token is picked: payment method id, token id.
    Gr4vyPick(Rc<str>, Rc<str>),
}

/// What a job's answer became.
enum Parsed {
    One(TokenStatus),
    Many(Vec<TokenStatus>),
}

impl Answer {
    fn parse(&self, reply: &Reply) -> Result<Parsed, Error> {
        match self {
            Answer::Gr4vyList(_) => match reply.shared.get().then(|| reply.gr4vy_list()) {
                Some(Some(list)) => Ok(Parsed::Many(list.to_vec())),
                _ => Ok(Parsed::Many(gr4vy::parse_list(&reply.response)?)),
            },
            _ => self.parse_one(reply).map(Parsed::One),
        }
    }

    /// What is looked up, for messages.
    fn subject(&self) -> Subject<'_> {
        let (what, id) = match self {
            Answer::Truemed(id) => ("provision token request", &**id),
            Answer::TokenIo(id) => ("token request", &**id),
            Answer::Gr4vyToken(method) | Answer::Gr4vyList(method) => ("payment method", &**method),
            Answer::Gr4vyPick(_, token) => ("payment service token", &**token),
        };
        Subject { what, id }
    }

    /// The payment method a Gr4vy list answer lists (the waits on its tokens may use it).
    fn listing(&self) -> Option<&str> {
        match self {
            Answer::Gr4vyList(method) | Answer::Gr4vyPick(method, _) => Some(method),
            _ => None,
        }
    }

    /// What a wait on this answer waits on (none for lists and the provision answer).
    fn wait_key(&self) -> Option<WaitKey> {
        let (id, payment_method_id) = match self {
            Answer::Truemed(id) | Answer::TokenIo(id) => (id, None),
            Answer::Gr4vyPick(method, token) => (token, Some(method.clone())),
            // The ids are shared with the wait's key (one copy of each per wait).
            Answer::Gr4vyToken(_) | Answer::Gr4vyList(_) => return None,
        };
        Some(WaitKey {
            id: id.clone(),
            payment_method_id,
        })
    }

    /// The one status a single-status answer holds (a Gr4vy pick is `not_found` when absent).
    /// An answer several callers shared is read from one parse of its list.
    fn parse_one(&self, reply: &Reply) -> Result<TokenStatus, Error> {
        let response = &reply.response;
        match self {
            Answer::Truemed(id) => truemed::parse_status(id, response),
            Answer::TokenIo(id) => tokenio::parse_result(id, response),
            Answer::Gr4vyToken(_) => gr4vy::parse_token(response),
            Answer::Gr4vyList(_) => Err(Error::invalid_response(
                Provider::Gr4vy,
                response.status,
                "expected one payment service token",
            )),
            Answer::Gr4vyPick(method, token) => {
                match reply.shared.get().then(|| reply.gr4vy_list()) {
                    Some(Some(list)) => list
                        .iter()
                        .find(|status| *status.id == **token)
                        .cloned()
                        .ok_or_else(|| gr4vy::not_listed(method, token)),
                    _ => gr4vy::parse_one_of_list(response, method, token),
                }
            }
        }
    }
}

/// One call, fully prepared before anything is sent.
struct Job {
    request: Rc<Request>,
    answer: Answer,
    options: CallOptions,
}

/// Starts a prepared job, or rejects at once with the preparation error (never a synchronous
/// throw). Every method goes through here, so the wasm holds one call state machine.
fn start(client: &Rc<FetchClient>, job: Result<Job, Error>) -> Promise {
    match job {
        Err(error) => Promise::reject(&to_js_error(&error)),
        Ok(job) => {
            let (promise, resolve, reject) = new_promise();
            // The task is the call itself (no wrapper future around it), its job boxed.
            spawn(run(client.clone(), Box::new(job), resolve, reject));
            promise
        }
    }
}

/// A new promise and the functions that settle it.
fn new_promise() -> (Promise, Function, Function) {
    let mut settle = None;
    let promise = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
    // The executor runs at once, inside Promise::new: `settle` is always set.
    let (resolve, reject) = settle.unwrap_or_else(|| {
        let none: Function = JsValue::UNDEFINED.unchecked_into();
        (none.clone(), none)
    });
    (promise, resolve, reject)
}

/// A promise of what `task` gives, the task running on the module's executor.
#[cfg(feature = "server")]
fn promise(task: impl Future<Output = Result<JsValue, JsValue>> + 'static) -> Promise {
    let (promise, resolve, reject) = new_promise();
    spawn(async move {
        let _ = match task.await {
            Ok(value) => resolve.call1(&JsValue::UNDEFINED, &value),
            Err(error) => reject.call1(&JsValue::UNDEFINED, &error),
        };
    });
    promise
}

/// Runs a job and settles its promise.
///
/// A plain function returning an `async move` block, not an `async fn`: the task, kept through
/// the whole call (a wait's too), then holds its arguments once rather than twice (240 -> 232 B
/// on wasm32, below the allocator's next 16-byte step).
#[allow(clippy::manual_async_fn)] // an `async fn` would keep its arguments twice
fn run(
    client: Rc<FetchClient>,
    job: Box<Job>,
    resolve: Function,
    reject: Function,
) -> impl Future<Output = ()> {
    async move {
        let _ = match call(client, &job).await {
            Ok(value) => resolve.call1(&JsValue::UNDEFINED, &value),
            Err(error) => reject.call1(&JsValue::UNDEFINED, &error),
        };
    }
}

async fn call(client: Rc<FetchClient>, job: &Job) -> Result<JsValue, JsValue> {
    // A wait registers with its client, so that webhooks, notify() and other calls' lists
    // reach it.
    let registration = job
        .options
        .wait
        .as_ref()
        .and_then(|_| job.answer.wait_key())
        .map(|key| client.waits.register(key));
    let env = FetchEnv::new(client, job.options.signal.clone(), registration);
    let mut call = Call {
        request: &job.request,
        subject: job.answer.subject(),
        timeout_ms: job.options.timeout_ms,
        deadline_ms: None,
        listing: job.answer.listing(),
    };
    if let Some((policy, on_update)) = &job.options.wait {
        let report = |status: &TokenStatus| {
            if let Some(on_update) = on_update {
                // An exception in the caller's callback must not break the wait.
                let _ = on_update.call1(&JsValue::UNDEFINED, &to_js_status(status));
            }
        };
        return wait(&env, &mut call, policy, |r| job.answer.parse_one(r), report)
            .await
            .map(|status| to_js_status(&status))
            .map_err(|error| to_js_error(&error));
    }
    // Boxed: a wait's task does not carry a single call's state too.
    match Box::pin(execute(&env, &call, |r| job.answer.parse(r)))
        .await
        .map(|(parsed, _)| parsed)
    {
        Ok(Parsed::One(status)) => Ok(to_js_status(&status)),
        Ok(Parsed::Many(tokens)) => Ok(to_js_statuses(&tokens, true)),
        Err(error) => Err(to_js_error(&error)),
    }
}

/// One client's core, behind the shell's `TruemedClient`, `Gr4vyClient` or `TokenIoClient`.
/// Its arguments were checked by the shell (types, option ranges); what they mean for the
/// request (ids, security codes) is judged here, and each method returns a Promise that
/// rejects with a `TokenStatusError`, never a synchronous throw.
#[wasm_bindgen]
pub struct Core {
    client: Rc<FetchClient>,
}

#[wasm_bindgen]
impl Core {
    /// `new Core(provider, settings, bearerToken, timeoutMs, maxRetries, initialDelayMs,
    /// maxDelayMs)`: `provider` is `truemed`, `gr4vy` or `tokenio`; `settings` the JSON text of
    /// what the shell's `clientSettings` returned, its `bearerToken` function and numbers apart
    /// (`NaN`, that is `undefined`, when absent): see `coreArgs` in `js/clients.js`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        provider: &str,
        settings: &str,
        bearer_token: Option<Function>,
        timeout_ms: f64,
        max_retries: f64,
        initial_delay_ms: f64,
        max_delay_ms: f64,
    ) -> Result<Core, JsValue> {
        let provider = match provider {
            "truemed" => Provider::Truemed,
            "gr4vy" => Provider::Gr4vy,
            _ => Provider::TokenIo,
        };
        let settings = Settings {
            json: crate::json::parse(settings.as_bytes()).unwrap_or(Value::Null),
            bearer_token,
            timeout_ms,
            retry: [max_retries, initial_delay_ms, max_delay_ms],
        };
        configure(provider, &settings)
            .map(|client| Core {
                client: Rc::new(client),
            })
            .map_err(|error| to_js_error(&error))
    }

    /// Starts one call and returns its promise. `op` says which ([`op`]), and the strings are
    /// its arguments in order:
    ///
    /// - [`op::READ`]: `a` the id (Truemed provision token request, Token.io token request);
    /// - [`op::WAIT`]: polls until the status is terminal or the deadline passes: `a` the id,
    ///   or for Gr4vy the payment method and `b` the payment service token;
    /// - [`op::PROVISION`]: provisions a Gr4vy payment service token (POST, never retried once
    ///   sent): `a` the payment method, `b` the payment service, `c` the redirect URL, `d` the
    ///   security code if any;
    /// - [`op::LIST`]: lists a Gr4vy payment method's (`a`) payment service tokens, optionally
    ///   for one payment service (`b`);
    /// - [`op::PICK`]: one Gr4vy payment service token's status (lists its payment method's
    ///   tokens and picks it): `a` the payment method, `b` the token.
    ///
    /// The numbers are `NaN` (JavaScript's `undefined`) when not given; only a wait reads the
    /// last four arguments. One export for every call keeps the binding small.
    #[allow(clippy::too_many_arguments)]
    pub fn call(
        &self,
        op: u32,
        a: String,
        b: Option<String>,
        c: Option<String>,
        d: Option<String>,
        signal: Option<AbortSignal>,
        timeout_ms: f64,
        deadline_ms: f64,
        interval_ms: f64,
        max_interval_ms: f64,
        on_update: Option<Function>,
    ) -> Promise {
        let client = &self.client;
        let mut options = CallOptions {
            signal,
            timeout_ms: given(timeout_ms).unwrap_or(client.config.timeout_ms),
            wait: None,
        };
        let job = match op {
            op::READ => self.by_id(a, options),
            op::PROVISION => {
                let params = ProvisionParams {
                    payment_service_id: b.unwrap_or_default(),
                    redirect_url: c.unwrap_or_default(),
                    security_code: d,
                };
                gr4vy::provision_request(&client.config, &a, &params).map(|request| Job {
                    request: Rc::new(request),
                    options,
                    answer: Answer::Gr4vyToken(a.as_str().into()),
                })
            }
            op::LIST => gr4vy::list_request(&client.config, &a, b.as_deref()).map(|request| Job {
                request: Rc::new(request),
                options,
                answer: Answer::Gr4vyList(a.as_str().into()),
            }),
            _ => {
                if op == op::WAIT {
                    let defaults = WaitPolicy::default();
                    let policy = WaitPolicy {
                        deadline_ms: given(deadline_ms).unwrap_or(defaults.deadline_ms),
                        interval_ms: given(interval_ms).unwrap_or(defaults.interval_ms),
                        max_interval_ms: given(max_interval_ms).unwrap_or(defaults.max_interval_ms),
                    };
                    options.wait = Some((policy, on_update));
                }
                match b {
                    Some(token) => self.pick(a, token, options),
                    None => self.by_id(a, options),
                }
            }
        };
        start(client, job)
    }

    /// Hands a status learned elsewhere (`JSON.stringify` of a `TokenStatus`) to this client's
    /// waits on its id: a terminal one resolves them, another reaches their `onUpdate`. Returns
    /// how many waits it reached (0 for anything that is not a status of this provider).
    pub fn notify(&self, status_json: &str) -> u32 {
        crate::json::parse(status_json.as_bytes())
            .ok()
            .and_then(|value| TokenStatus::from_json(&value))
            .map_or(0, |status| {
                self.client
                    .waits
                    .notify(self.client.config.provider, &status) as u32
            })
    }

    #[cfg(feature = "server")]
    /// Verifies a webhook delivery (headers as parallel name and value lists, the raw body) with
    /// the client's webhook secrets; resolves with the `WebhookEvent`, or rejects with kind
    /// `invalid_webhook`. A verified status reaches the client's waits on its id, and a Gr4vy
    /// payment-method event makes the waits on that payment method poll now.
    #[wasm_bindgen(js_name = verifyWebhook)]
    pub fn verify_webhook(
        &self,
        names: Vec<String>,
        values: Vec<String>,
        body: Vec<u8>,
        tolerance_seconds: Option<f64>,
    ) -> Promise {
        let client = self.client.clone();
        promise(async move {
            let provider = client.config.provider;
            let headers: Vec<(String, String)> = names.into_iter().zip(values).collect();
            let inbound = Inbound {
                headers: &headers,
                body: &body,
                now: (js_sys::Date::now() / 1000.0) as u64,
                tolerance: webhook::tolerance(provider, tolerance_seconds)
                    .map_err(|e| to_js_error(&e))?,
            };
            let crypto =
                WebCrypto::new(provider, &client.runtime).with_hmac_keys(&client.hmac_keys);
            let event = webhook::verify(&crypto, provider, &client.webhook_secrets, inbound)
                .await
                .map_err(|e| to_js_error(&e))?;
            if let Some(status) = &event.status {
                client.waits.notify(provider, status);
            }
            if let Some(method) = &event.poll_payment_method_id {
                client.waits.poll_now(method);
            }
            let mut json = String::with_capacity(256 + body.len());
            event.write_json(&mut json);
            JSON::parse(&json)
        })
    }
}

impl Core {
    /// The job of a call on one id, for the two providers whose status is addressed by a
    /// single id.
    fn by_id(&self, id: String, options: CallOptions) -> Result<Job, Error> {
        let config = &self.client.config;
        if config.provider == Provider::Truemed {
            truemed::status_request(config, &id).map(|request| Job {
                request: Rc::new(request),
                options,
                answer: Answer::Truemed(id.into()),
            })
        } else {
            tokenio::result_request(config, &id).map(|request| Job {
                request: Rc::new(request),
                options,
                answer: Answer::TokenIo(id.into()),
            })
        }
    }

    /// The job of a read of one Gr4vy payment service token: a list of its payment method's.
    fn pick(
        &self,
        payment_method_id: String,
        token_id: String,
        options: CallOptions,
    ) -> Result<Job, Error> {
        crate::http::validate_id(Provider::Gr4vy, "paymentServiceTokenId", &token_id)
            .and_then(|()| gr4vy::list_request(&self.client.config, &payment_method_id, None))
            .map(|request| Job {
                request: Rc::new(request),
                options,
                answer: Answer::Gr4vyPick(payment_method_id.into(), token_id.into()),
            })
    }
}

/// The calls [`Core::call`] starts.
pub mod op {
    /// A status read by id.
    pub const READ: u32 = 0;
    /// A wait for a terminal status.
    pub const WAIT: u32 = 1;
    /// A Gr4vy provision.
    pub const PROVISION: u32 = 2;
    /// A Gr4vy list.
    pub const LIST: u32 = 3;
    /// A Gr4vy pick: one token of a list.
    pub const PICK: u32 = 4;
}

/// A number the shell passed, or `None` for `undefined` (which arrives as `NaN`).
fn given(number: f64) -> Option<f64> {
    (!number.is_nan()).then_some(number)
}
