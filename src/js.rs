//! The JavaScript surface, in one place: the `TruemedClient`, `Gr4vyClient` and `TokenIoClient`
//! classes, option parsing and validation, the browser credential guard, and the conversion of
//! statuses and errors into plain JavaScript values and `TokenStatusError`s.

use crate::call::{Call, execute};
use crate::config::{Auth, ClientConfig, Environment};
use crate::error::{Error, ErrorKind};
use crate::fetch::FetchEnv;
use crate::http::{Request, Response, normalize_base_url};
use crate::providers::gr4vy::{self, ProvisionParams};
use crate::providers::{tokenio, truemed};
use crate::retry::RetryPolicy;
use crate::status::{Provider, TokenStatus};
use crate::text::truncate;
use crate::wait::{WaitPolicy, wait};
use js_sys::{Array, Function, JSON, Object, Promise, Reflect};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use web_sys::AbortSignal;

thread_local! {
    static ERROR_CLASS: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Registers the `TokenStatusError` class the package's entry file defines, so that every
/// rejection is an instance of the class users import. Called once by the entry file.
#[wasm_bindgen(js_name = __setErrorClass)]
pub fn set_error_class(class: Function) {
    ERROR_CLASS.with(|slot| *slot.borrow_mut() = Some(class));
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
    let class = ERROR_CLASS.with(|slot| slot.borrow().clone());
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
    let mut json = String::with_capacity(320);
    status.write_json(&mut json);
    JSON::parse(&json).unwrap_or(JsValue::NULL)
}

fn key(name: &str) -> JsValue {
    JsValue::from_str(name)
}

/// An options object (or `undefined`), checked for unknown keys and read field by field.
struct Options {
    object: Option<Object>,
    provider: Provider,
    name: &'static str,
}

impl Options {
    fn new(
        value: &JsValue,
        provider: Provider,
        name: &'static str,
        allowed: &[&str],
    ) -> Result<Options, Error> {
        if value.is_undefined() || value.is_null() {
            return Ok(Options {
                object: None,
                provider,
                name,
            });
        }
        if !value.is_object() || Array::is_array(value) || value.is_function() {
            let mut message = String::from(name);
            message.push_str(" must be an object.");
            return Err(Error::invalid_argument(provider, message));
        }
        let object: Object = value.clone().unchecked_into();
        for k in Object::keys(&object).iter() {
            let k = k.as_string().unwrap_or_default();
            if !allowed.contains(&k.as_str()) {
                let mut message = String::from("Unknown option \"");
                message.push_str(&truncate(&k, 64));
                message.push_str("\" in ");
                message.push_str(name);
                message.push_str(" (known: ");
                message.push_str(&allowed.join(", "));
                message.push_str(").");
                return Err(Error::invalid_argument(provider, message));
            }
        }
        Ok(Options {
            object: Some(object),
            provider,
            name,
        })
    }

    fn get(&self, field: &str) -> JsValue {
        match &self.object {
            Some(object) => Reflect::get(object, &key(field)).unwrap_or(JsValue::UNDEFINED),
            None => JsValue::UNDEFINED,
        }
    }

    fn invalid(&self, field: &str, rule: &str) -> Error {
        let mut message = String::with_capacity(64);
        message.push_str(self.name);
        message.push('.');
        message.push_str(field);
        message.push_str(" must be ");
        message.push_str(rule);
        message.push('.');
        Error::invalid_argument(self.provider, message)
    }

    /// A non-empty string without control characters, or absent.
    fn string(&self, field: &str) -> Result<Option<String>, Error> {
        let value = self.get(field);
        if value.is_undefined() {
            return Ok(None);
        }
        match value.as_string() {
            Some(s)
                if !s.trim().is_empty()
                    && !s.chars().any(char::is_control)
                    && (!s.contains('\u{FFFD}')
                        || value.unchecked_ref::<js_sys::JsString>().is_valid_utf16()) =>
            {
                Ok(Some(s))
            }
            _ => Err(self.invalid(
                field,
                "a non-empty, well-formed string without control characters",
            )),
        }
    }

    /// A number in `min..=max`, or absent.
    fn number(&self, field: &str, min: f64, max: f64, integer: bool) -> Result<Option<f64>, Error> {
        let value = self.get(field);
        if value.is_undefined() {
            return Ok(None);
        }
        match value.as_f64() {
            Some(n) if n >= min && n <= max && (!integer || n.fract() == 0.0) => Ok(Some(n)),
            _ => {
                let mut rule = String::from(if integer {
                    "an integer from "
                } else {
                    "a number from "
                });
                crate::text::push_ms(&mut rule, min);
                rule.push_str(" to ");
                crate::text::push_ms(&mut rule, max);
                Err(self.invalid(field, &rule))
            }
        }
    }

    fn boolean(&self, field: &str) -> Result<Option<bool>, Error> {
        let value = self.get(field);
        if value.is_undefined() {
            return Ok(None);
        }
        value
            .as_bool()
            .map(Some)
            .ok_or_else(|| self.invalid(field, "true or false"))
    }
}

/// Largest timeout or delay a JavaScript timer accepts (about 24.8 days).
const MAX_TIMER_MS: f64 = 2_147_483_647.0;

const COMMON_OPTIONS: [&str; 6] = [
    "environment",
    "baseUrl",
    "timeoutMs",
    "retry",
    "headers",
    "allowBrowserCredentials",
];

/// Options only one client takes, after [`COMMON_OPTIONS`].
fn provider_options(provider: Provider) -> &'static [&'static str] {
    match provider {
        Provider::Truemed => &["apiKey"],
        Provider::Gr4vy => &["instanceId", "bearerToken", "merchantAccountId"],
        Provider::TokenIo => &["bearerToken", "basicCredentials"],
    }
}

/// Builds any client from its options object: one code path for all three constructors.
/// Throws (as the constructor) `invalid_argument` or `insecure_credentials`.
#[inline(never)]
fn new_client(provider: Provider, value: &JsValue) -> Result<Rc<Client>, JsValue> {
    build_client(provider, value).map_err(|error| to_js_error(&error))
}

fn build_client(provider: Provider, value: &JsValue) -> Result<Rc<Client>, Error> {
    let mut allowed = COMMON_OPTIONS.to_vec();
    allowed.extend_from_slice(provider_options(provider));
    let options = Options::new(value, provider, "options", &allowed)?;
    let environment = match options.string("environment")?.as_deref() {
        None | Some("sandbox") => Environment::Sandbox,
        Some("production") => Environment::Production,
        Some(_) => return Err(options.invalid("environment", "\"sandbox\" or \"production\"")),
    };
    let instance = match provider {
        Provider::Gr4vy => options.string("instanceId")?,
        _ => None,
    };
    if let Some(instance) = &instance {
        gr4vy::validate_instance_id(instance)?;
    }
    let base_url = match (options.string("baseUrl")?, provider, &instance) {
        (Some(base), _, _) => normalize_base_url(provider, &base)?,
        (None, Provider::Truemed, _) => truemed::default_base_url(environment).to_owned(),
        (None, Provider::TokenIo, _) => tokenio::default_base_url(environment).to_owned(),
        (None, Provider::Gr4vy, Some(instance)) => gr4vy::default_base_url(instance, environment),
        (None, Provider::Gr4vy, None) => {
            return Err(Error::invalid_argument(
                provider,
                "Gr4vyClient needs instanceId (your Gr4vy instance) or baseUrl.",
            ));
        }
    };
    let mut config = ClientConfig::new(provider, base_url);
    if let Some(timeout) = options.number("timeoutMs", 1.0, MAX_TIMER_MS, false)? {
        config.timeout_ms = timeout;
    }
    config.retry = retry_policy(&options)?;
    config.headers = headers_option(&options)?;
    let allow_browser = options.boolean("allowBrowserCredentials")?.unwrap_or(false);
    let mut bearer = None;
    match provider {
        Provider::Truemed => {
            if let Some(key) = options.string("apiKey")? {
                config.auth = Auth::Static {
                    header: truemed::API_KEY_HEADER,
                    value: key.clone(),
                    secret: key,
                };
            }
        }
        Provider::Gr4vy => {
            (config.auth, bearer) = bearer_option(&options, "bearer")?;
            if let Some(account) = options.string("merchantAccountId")? {
                config
                    .headers
                    .insert(0, (gr4vy::MERCHANT_ACCOUNT_HEADER.to_owned(), account));
            }
        }
        Provider::TokenIo => {
            (config.auth, bearer) = bearer_option(&options, "Bearer")?;
            if let Some(basic) = options.string("basicCredentials")? {
                if config.auth != Auth::None {
                    return Err(Error::invalid_argument(
                        provider,
                        "Pass either bearerToken or basicCredentials, not both.",
                    ));
                }
                let basic = basic.trim().to_owned();
                config.auth = Auth::Static {
                    header: "authorization",
                    value: ["Basic ", &basic].concat(),
                    secret: basic,
                };
            }
        }
    }
    if config.has_credential() && !allow_browser && is_browser() {
        let mut message = String::from("A provider credential was given to ");
        message.push_str(provider.display_name());
        message.push_str(
            "'s client in a browser, where any visitor can read it. Keep credentials on your server: point baseUrl at a backend route that adds them (see the README), or pass allowBrowserCredentials: true if you really mean it.",
        );
        return Err(Error::new(
            ErrorKind::InsecureCredentials,
            provider,
            message,
        ));
    }
    Ok(Rc::new(Client { config, bearer }))
}

/// The `headers` option: an object of header names to string values.
fn headers_option(options: &Options) -> Result<Vec<(String, String)>, Error> {
    let headers = options.get("headers");
    let mut out = Vec::new();
    if headers.is_undefined() {
        return Ok(out);
    }
    if !headers.is_object() || Array::is_array(&headers) {
        return Err(options.invalid("headers", "an object of header names to string values"));
    }
    for entry in Object::entries(&headers.unchecked_into()).iter() {
        let entry: Array = entry.unchecked_into();
        let name = entry.get(0).as_string().unwrap_or_default();
        let value = entry.get(1).as_string();
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        match value {
            Some(value) if valid_name && !value.contains(['\r', '\n', '\0']) => {
                out.push((name.to_ascii_lowercase(), value));
            }
            _ => {
                return Err(options.invalid(
                    "headers",
                    "an object of valid header names to string values without line breaks",
                ));
            }
        }
    }
    Ok(out)
}

fn retry_policy(options: &Options) -> Result<RetryPolicy, Error> {
    let value = options.get("retry");
    if value.is_undefined() {
        return Ok(RetryPolicy::default());
    }
    if value.as_bool() == Some(false) {
        return Ok(RetryPolicy::DISABLED);
    }
    let retry = Options::new(
        &value,
        options.provider,
        "retry",
        &["maxRetries", "initialDelayMs", "maxDelayMs"],
    )
    .map_err(|_| options.invalid("retry", "false or an object"))?;
    let mut policy = RetryPolicy::default();
    if let Some(n) = retry.number("maxRetries", 0.0, 20.0, true)? {
        policy.max_retries = n as u32;
    }
    if let Some(ms) = retry.number("initialDelayMs", 0.0, MAX_TIMER_MS, false)? {
        policy.initial_delay_ms = ms;
    }
    if let Some(ms) = retry.number("maxDelayMs", 0.0, MAX_TIMER_MS, false)? {
        policy.max_delay_ms = ms;
    }
    Ok(policy)
}

/// A `bearerToken` option: a string (static) or a function (called before every attempt).
fn bearer_option(
    options: &Options,
    scheme: &'static str,
) -> Result<(Auth, Option<Function>), Error> {
    let value = options.get("bearerToken");
    if value.is_undefined() {
        return Ok((Auth::None, None));
    }
    if value.is_function() {
        return Ok((Auth::Dynamic { scheme }, Some(value.unchecked_into())));
    }
    match options.string("bearerToken") {
        Ok(Some(token)) => {
            let mut header = String::from(scheme);
            header.push(' ');
            header.push_str(&token);
            Ok((
                Auth::Static {
                    header: "authorization",
                    value: header,
                    secret: token,
                },
                None,
            ))
        }
        _ => Err(options.invalid(
            "bearerToken",
            "a non-empty string, or a function returning one (or a Promise of one)",
        )),
    }
}

/// True in a browser page or a browser worker; false in Node, Deno, Bun and edge workers
/// (none of which has a `document` or a `WorkerGlobalScope` global object).
fn is_browser() -> bool {
    let global = js_sys::global();
    let has = |name: &str| Reflect::get(&global, &key(name)).is_ok_and(|v| !v.is_undefined());
    let navigator = Reflect::get(&global, &key("navigator")).unwrap_or(JsValue::UNDEFINED);
    let user_agent = if navigator.is_object() {
        Reflect::get(&navigator, &key("userAgent"))
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default()
    } else {
        String::new()
    };
    if user_agent == "Cloudflare-Workers" || has("Deno") || has("Bun") {
        return false;
    }
    if has("document") {
        return true;
    }
    // A browser worker: the global object is a WorkerGlobalScope.
    let worker_scope =
        Reflect::get(&global, &key("WorkerGlobalScope")).unwrap_or(JsValue::UNDEFINED);
    worker_scope.is_function()
        && Reflect::get(&worker_scope, &key("prototype"))
            .ok()
            .and_then(|proto| proto.dyn_into::<Object>().ok())
            .is_some_and(|proto| proto.is_prototype_of(&global))
}

/// What every client holds: its configuration and its `bearerToken` function, if any.
struct Client {
    config: ClientConfig,
    bearer: Option<Function>,
}

/// Per-call options: `signal` and `timeoutMs`, and for waits the polling policy and `onUpdate`.
struct CallOptions {
    signal: Option<AbortSignal>,
    timeout_ms: f64,
    wait: Option<(WaitPolicy, Option<Function>)>,
}

const CALL_OPTIONS: [&str; 2] = ["signal", "timeoutMs"];
const WAIT_OPTIONS: [&str; 6] = [
    "signal",
    "timeoutMs",
    "deadlineMs",
    "intervalMs",
    "maxIntervalMs",
    "onUpdate",
];

impl Client {
    fn call_options(&self, value: &JsValue, waiting: bool) -> Result<CallOptions, Error> {
        let allowed: &[&str] = if waiting {
            &WAIT_OPTIONS
        } else {
            &CALL_OPTIONS
        };
        let options = Options::new(value, self.config.provider, "options", allowed)?;
        let signal = options.get("signal");
        let signal = if signal.is_undefined() || signal.is_null() {
            None
        } else if signal.is_object()
            && Reflect::get(&signal, &key("aborted")).is_ok_and(|v| v.as_bool().is_some())
            && Reflect::get(&signal, &key("addEventListener")).is_ok_and(|v| v.is_function())
        {
            Some(signal.unchecked_into::<AbortSignal>())
        } else {
            return Err(options.invalid("signal", "an AbortSignal"));
        };
        let timeout_ms = options
            .number("timeoutMs", 1.0, MAX_TIMER_MS, false)?
            .unwrap_or(self.config.timeout_ms);
        let wait = if waiting {
            let mut policy = WaitPolicy::default();
            if let Some(ms) = options.number("deadlineMs", 0.0, MAX_TIMER_MS, false)? {
                policy.deadline_ms = ms;
            }
            if let Some(ms) = options.number("intervalMs", 0.0, MAX_TIMER_MS, false)? {
                policy.interval_ms = ms;
            }
            if let Some(ms) = options.number("maxIntervalMs", 0.0, MAX_TIMER_MS, false)? {
                policy.max_interval_ms = ms;
            }
            let on_update = options.get("onUpdate");
            let on_update = if on_update.is_undefined() {
                None
            } else if on_update.is_function() {
                Some(on_update.unchecked_into::<Function>())
            } else {
                return Err(options.invalid("onUpdate", "a function"));
            };
            Some((policy, on_update))
        } else {
            None
        };
        Ok(CallOptions {
            signal,
            timeout_ms,
            wait,
        })
    }

    fn id(&self, value: &JsValue, name: &str) -> Result<String, Error> {
        let invalid = |rule: &str| {
            let mut message = String::from(name);
            message.push_str(rule);
            Error::invalid_argument(self.config.provider, message)
        };
        let id = value
            .as_string()
            .ok_or_else(|| invalid(" must be a string."))?;
        // wasm-bindgen turns a lone surrogate into U+FFFD; never send an id the caller did not
        // give. (Checked only when a U+FFFD shows up, which well-formed ids almost never hold.)
        if id.contains('\u{FFFD}') && !value.unchecked_ref::<js_sys::JsString>().is_valid_utf16() {
            return Err(invalid(
                " must be well-formed Unicode (it holds a lone surrogate).",
            ));
        }
        Ok(id)
    }
}

/// How a job's 2xx answer is read.
enum Answer {
    /// Truemed provision token request, by id.
    Truemed(String),
    /// Token.io token request result, by id.
    TokenIo(String),
    /// One Gr4vy payment service token (the provision answer).
    Gr4vyToken,
    /// A Gr4vy list, returned whole.
    Gr4vyList,
    /// A Gr4vy list, from which one token is picked: payment method id, token id.
    Gr4vyPick(String, String),
}

/// What a job's answer became.
enum Parsed {
    One(TokenStatus),
    Many(Vec<TokenStatus>),
}

impl Answer {
    fn parse(&self, response: &Response) -> Result<Parsed, Error> {
        match self {
            Answer::Gr4vyList => Ok(Parsed::Many(gr4vy::parse_list(response)?)),
            _ => self.parse_one(response).map(Parsed::One),
        }
    }

    /// The one status a single-status answer holds (a Gr4vy pick is `not_found` when absent).
    fn parse_one(&self, response: &Response) -> Result<TokenStatus, Error> {
        match self {
            Answer::Truemed(id) => truemed::parse_status(id, response),
            Answer::TokenIo(id) => tokenio::parse_result(id, response),
            Answer::Gr4vyToken => gr4vy::parse_token(response),
            Answer::Gr4vyList => Err(Error::invalid_response(
                Provider::Gr4vy,
                response.status,
                "expected one payment service token",
            )),
            Answer::Gr4vyPick(method, token) => gr4vy::parse_one_of_list(response, method, token),
        }
    }
}

/// One call, fully prepared before anything is sent.
struct Job {
    request: Request,
    subject: String,
    answer: Answer,
    options: CallOptions,
}

/// Starts a prepared job, or rejects at once with the preparation error (never a synchronous
/// throw). Every method goes through here, so the wasm holds one call state machine.
fn start(client: &Rc<Client>, job: Result<Job, Error>) -> Promise {
    match job {
        Err(error) => Promise::reject(&to_js_error(&error)),
        Ok(job) => future_to_promise(run(client.clone(), job)),
    }
}

async fn run(client: Rc<Client>, job: Job) -> Result<JsValue, JsValue> {
    let env = FetchEnv {
        signal: job.options.signal.clone(),
        bearer: client.bearer.clone(),
    };
    let call = Call {
        config: &client.config,
        request: job.request,
        subject: &job.subject,
        timeout_ms: job.options.timeout_ms,
        deadline_ms: None,
    };
    if let Some((policy, on_update)) = &job.options.wait {
        let report = |status: &TokenStatus| {
            if let Some(on_update) = on_update {
                // An exception in the caller's callback must not break the wait.
                let _ = on_update.call1(&JsValue::UNDEFINED, &to_js_status(status));
            }
        };
        return wait(&env, &call, policy, |r| job.answer.parse_one(r), report)
            .await
            .map(|status| to_js_status(&status))
            .map_err(|error| to_js_error(&error));
    }
    match execute(&env, &call, |r| job.answer.parse(r))
        .await
        .map(|(parsed, _)| parsed)
    {
        Ok(Parsed::One(status)) => Ok(to_js_status(&status)),
        Ok(Parsed::Many(tokens)) => {
            let list = Array::new_with_length(tokens.len() as u32);
            for (i, token) in tokens.iter().enumerate() {
                list.set(i as u32, to_js_status(token));
            }
            Ok(list.into())
        }
        Err(error) => Err(to_js_error(&error)),
    }
}

/// A call on one id, for the two providers whose status is addressed by a single id: a
/// Truemed provision token request or a Token.io token request.
fn by_id(client: &Rc<Client>, id: &JsValue, options: &JsValue, waiting: bool) -> Promise {
    let truemed = client.config.provider == Provider::Truemed;
    start(
        client,
        (|| {
            let id = if truemed {
                client.id(id, "provisionTokenRequestId")?
            } else {
                client.id(id, "tokenRequestId")?
            };
            Ok(Job {
                request: if truemed {
                    truemed::status_request(&client.config, &id)?
                } else {
                    tokenio::result_request(&client.config, &id)?
                },
                subject: subject(
                    if truemed {
                        "provision token request"
                    } else {
                        "token request"
                    },
                    &id,
                ),
                options: client.call_options(options, waiting)?,
                answer: if truemed {
                    Answer::Truemed(id)
                } else {
                    Answer::TokenIo(id)
                },
            })
        })(),
    )
}

/// `what "id"`, with the id shortened for messages.
fn subject(what: &str, id: &str) -> String {
    let mut text = String::with_capacity(what.len() + id.len().min(80) + 3);
    text.push_str(what);
    text.push_str(" \"");
    text.push_str(&truncate(id, 80));
    text.push('"');
    text
}

/// Client for Truemed provision token requests.
#[wasm_bindgen]
pub struct TruemedClient {
    client: Rc<Client>,
}

#[wasm_bindgen]
impl TruemedClient {
    /// `new TruemedClient({ apiKey?, ...ClientOptions })`. Throws `TokenStatusError`
    /// (`invalid_argument`, `insecure_credentials`) for bad options.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<TruemedClient, JsValue> {
        Ok(TruemedClient {
            client: new_client(Provider::Truemed, &options)?,
        })
    }

    /// Looks up one provision token request.
    #[wasm_bindgen(js_name = getProvisionTokenRequest)]
    pub fn get_provision_token_request(
        &self,
        provision_token_request_id: JsValue,
        options: JsValue,
    ) -> Promise {
        by_id(&self.client, &provision_token_request_id, &options, false)
    }

    /// Polls a provision token request until it is provisioned (or the deadline passes).
    #[wasm_bindgen(js_name = waitForProvisionTokenRequest)]
    pub fn wait_for_provision_token_request(
        &self,
        provision_token_request_id: JsValue,
        options: JsValue,
    ) -> Promise {
        by_id(&self.client, &provision_token_request_id, &options, true)
    }
}

/// Client for Gr4vy payment service tokens.
#[wasm_bindgen]
pub struct Gr4vyClient {
    client: Rc<Client>,
}

#[wasm_bindgen]
impl Gr4vyClient {
    /// `new Gr4vyClient({ instanceId?, bearerToken?, merchantAccountId?, ...ClientOptions })`.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<Gr4vyClient, JsValue> {
        Ok(Gr4vyClient {
            client: new_client(Provider::Gr4vy, &options)?,
        })
    }

    /// Provisions a payment service token (POST, never retried once sent).
    #[wasm_bindgen(js_name = provisionPaymentServiceToken)]
    pub fn provision_payment_service_token(
        &self,
        payment_method_id: JsValue,
        params: JsValue,
        options: JsValue,
    ) -> Promise {
        let client = &self.client;
        start(
            client,
            (|| {
                let payment_method_id = client.id(&payment_method_id, "paymentMethodId")?;
                let fields = Options::new(
                    &params,
                    Provider::Gr4vy,
                    "params",
                    &["paymentServiceId", "redirectUrl", "securityCode"],
                )?;
                if fields.object.is_none() {
                    return Err(Error::invalid_argument(
                        Provider::Gr4vy,
                        "provisionPaymentServiceToken needs { paymentServiceId, redirectUrl }.",
                    ));
                }
                let required = |field: &str| {
                    fields
                        .string(field)?
                        .ok_or_else(|| fields.invalid(field, "a non-empty string"))
                };
                let security_code = fields.get("securityCode");
                let params = ProvisionParams {
                    payment_service_id: required("paymentServiceId")?,
                    redirect_url: required("redirectUrl")?,
                    security_code: if security_code.is_undefined() || security_code.is_null() {
                        None
                    } else {
                        Some(security_code.as_string().ok_or_else(|| {
                            fields.invalid("securityCode", "a string of 3 or 4 digits")
                        })?)
                    },
                };
                Ok(Job {
                    request: gr4vy::provision_request(&client.config, &payment_method_id, &params)?,
                    subject: subject("payment method", &payment_method_id),
                    options: client.call_options(&options, false)?,
                    answer: Answer::Gr4vyToken,
                })
            })(),
        )
    }

    /// Lists a payment method's payment service tokens, optionally for one payment service.
    #[wasm_bindgen(js_name = listPaymentServiceTokens)]
    pub fn list_payment_service_tokens(
        &self,
        payment_method_id: JsValue,
        params: JsValue,
        options: JsValue,
    ) -> Promise {
        let client = &self.client;
        start(
            client,
            (|| {
                let payment_method_id = client.id(&payment_method_id, "paymentMethodId")?;
                let filter =
                    Options::new(&params, Provider::Gr4vy, "params", &["paymentServiceId"])?;
                let service = filter.string("paymentServiceId")?;
                Ok(Job {
                    request: gr4vy::list_request(
                        &client.config,
                        &payment_method_id,
                        service.as_deref(),
                    )?,
                    subject: subject("payment method", &payment_method_id),
                    options: client.call_options(&options, false)?,
                    answer: Answer::Gr4vyList,
                })
            })(),
        )
    }

    /// One payment service token's status (lists the payment method's tokens and picks it).
    #[wasm_bindgen(js_name = getPaymentServiceToken)]
    pub fn get_payment_service_token(
        &self,
        payment_method_id: JsValue,
        payment_service_token_id: JsValue,
        options: JsValue,
    ) -> Promise {
        self.pick(
            &payment_method_id,
            &payment_service_token_id,
            &options,
            false,
        )
    }

    /// Polls one payment service token until it succeeds or fails (`action_required` keeps
    /// polling: the buyer may still approve), or the deadline passes.
    #[wasm_bindgen(js_name = waitForPaymentServiceToken)]
    pub fn wait_for_payment_service_token(
        &self,
        payment_method_id: JsValue,
        payment_service_token_id: JsValue,
        options: JsValue,
    ) -> Promise {
        self.pick(
            &payment_method_id,
            &payment_service_token_id,
            &options,
            true,
        )
    }

    fn pick(
        &self,
        payment_method_id: &JsValue,
        token_id: &JsValue,
        options: &JsValue,
        waiting: bool,
    ) -> Promise {
        let client = &self.client;
        start(
            client,
            (|| {
                let payment_method_id = client.id(payment_method_id, "paymentMethodId")?;
                let token_id = client.id(token_id, "paymentServiceTokenId")?;
                crate::http::validate_id(Provider::Gr4vy, "paymentServiceTokenId", &token_id)?;
                Ok(Job {
                    request: gr4vy::list_request(&client.config, &payment_method_id, None)?,
                    subject: subject("payment service token", &token_id),
                    options: client.call_options(options, waiting)?,
                    answer: Answer::Gr4vyPick(payment_method_id, token_id),
                })
            })(),
        )
    }
}

/// Client for Token.io token request results.
#[wasm_bindgen]
pub struct TokenIoClient {
    client: Rc<Client>,
}

#[wasm_bindgen]
impl TokenIoClient {
    /// `new TokenIoClient({ bearerToken?, basicCredentials?, ...ClientOptions })`.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<TokenIoClient, JsValue> {
        Ok(TokenIoClient {
            client: new_client(Provider::TokenIo, &options)?,
        })
    }

    /// Looks up one token request's result.
    #[wasm_bindgen(js_name = getTokenRequestResult)]
    pub fn get_token_request_result(&self, token_request_id: JsValue, options: JsValue) -> Promise {
        by_id(&self.client, &token_request_id, &options, false)
    }

    /// Polls a token request until it is processed, rejected or expired (or the deadline passes).
    #[wasm_bindgen(js_name = waitForTokenRequestResult)]
    pub fn wait_for_token_request_result(
        &self,
        token_request_id: JsValue,
        options: JsValue,
    ) -> Promise {
        by_id(&self.client, &token_request_id, &options, true)
    }
}
