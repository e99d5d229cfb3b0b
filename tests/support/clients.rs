//! The suite's stand-ins for the shell's classes: the same method names as `TruemedClient`,
//! `Gr4vyClient` and `TokenIoClient`, forwarding to the exported [`Core`] the way `js/clients.js`
//! does. They check nothing: the suite hands them valid types, since judging option and argument
//! types is the shell's job and is tested against the packed package (tests/package/shell.test.mjs).
//! What an id, a security code or an answer means is the core's, and is what this suite tests.

use js_sys::{Function, JSON, Promise, Reflect};
use token_status::js::{Core, op};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::AbortSignal;

fn get(options: &JsValue, key: &str) -> JsValue {
    if options.is_object() {
        Reflect::get(options, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

fn signal(options: &JsValue) -> Option<AbortSignal> {
    let signal = get(options, "signal");
    signal.is_object().then(|| signal.unchecked_into())
}

/// A number option, `NaN` when absent (as `undefined` reaches the core).
fn number(options: &JsValue, key: &str) -> f64 {
    get(options, key).as_f64().unwrap_or(f64::NAN)
}

/// A call that is not a wait: up to four strings, then `signal` and `timeoutMs`.
fn call(core: &Core, op: u32, strings: [Option<String>; 4], options: &JsValue) -> Promise {
    let [a, b, c, d] = strings;
    core.call(
        op,
        a.unwrap_or_default(),
        b,
        c,
        d,
        signal(options),
        number(options, "timeoutMs"),
        f64::NAN,
        f64::NAN,
        f64::NAN,
        None,
    )
}

fn string(value: &JsValue, what: &str) -> String {
    value
        .as_string()
        .unwrap_or_else(|| panic!("{what}: the suite passes strings (types are the shell's)"))
}

/// `new Core(provider, …)` from client options, the way `js/clients.js` (`coreArgs`) passes
/// the shell's settings: as JSON, with a `bearerToken` function and the numbers apart.
fn core(provider: &str, options: JsValue) -> Result<Core, JsValue> {
    let bearer = get(&options, "bearerToken");
    let retry = get(&options, "retry");
    let json = match options.is_object() {
        true => JSON::stringify(&options)
            .map(String::from)
            .unwrap_or_default(),
        false => String::from("{}"),
    };
    Core::new(
        provider,
        &json,
        bearer.is_function().then(|| bearer.unchecked_into()),
        number(&options, "timeoutMs"),
        number(&retry, "maxRetries"),
        number(&retry, "initialDelayMs"),
        number(&retry, "maxDelayMs"),
    )
}

/// `waitFor` with the options a `waitFor…` call takes.
fn wait(core: &Core, id: &JsValue, token: Option<String>, options: &JsValue) -> Promise {
    let on_update = get(options, "onUpdate");
    core.call(
        op::WAIT,
        string(id, "id"),
        token,
        None,
        None,
        signal(options),
        number(options, "timeoutMs"),
        number(options, "deadlineMs"),
        number(options, "intervalMs"),
        number(options, "maxIntervalMs"),
        on_update
            .is_function()
            .then(|| on_update.unchecked_into::<Function>()),
    )
}

/// `notify(status)` as the shell passes it on: the status as JSON text.
fn notify(core: &Core, status: &JsValue) -> u32 {
    let text = JSON::stringify(status)
        .map(String::from)
        .unwrap_or_default();
    core.notify(&text)
}

/// The shell's `TruemedClient`, over [`Core`].
pub struct TruemedClient(Core);

impl TruemedClient {
    pub fn notify(&self, status: &JsValue) -> u32 {
        notify(&self.0, status)
    }

    pub fn new(options: JsValue) -> Result<TruemedClient, JsValue> {
        core("truemed", options).map(TruemedClient)
    }

    pub fn get_provision_token_request(&self, id: JsValue, options: JsValue) -> Promise {
        call(
            &self.0,
            op::READ,
            [Some(string(&id, "id")), None, None, None],
            &options,
        )
    }

    pub fn wait_for_provision_token_request(&self, id: JsValue, options: JsValue) -> Promise {
        wait(&self.0, &id, None, &options)
    }
}

/// The shell's `TokenIoClient`, over [`Core`].
pub struct TokenIoClient(Core);

impl TokenIoClient {
    pub fn notify(&self, status: &JsValue) -> u32 {
        notify(&self.0, status)
    }

    pub fn new(options: JsValue) -> Result<TokenIoClient, JsValue> {
        core("tokenio", options).map(TokenIoClient)
    }

    pub fn get_token_request_result(&self, id: JsValue, options: JsValue) -> Promise {
        call(
            &self.0,
            op::READ,
            [Some(string(&id, "id")), None, None, None],
            &options,
        )
    }

    pub fn wait_for_token_request_result(&self, id: JsValue, options: JsValue) -> Promise {
        wait(&self.0, &id, None, &options)
    }
}

/// The shell's `Gr4vyClient`, over [`Core`].
pub struct Gr4vyClient(Core);

impl Gr4vyClient {
    pub fn notify(&self, status: &JsValue) -> u32 {
        notify(&self.0, status)
    }

    pub fn new(options: JsValue) -> Result<Gr4vyClient, JsValue> {
        core("gr4vy", options).map(Gr4vyClient)
    }

    pub fn provision_payment_service_token(
        &self,
        payment_method_id: JsValue,
        params: JsValue,
        options: JsValue,
    ) -> Promise {
        let code = get(&params, "securityCode");
        call(
            &self.0,
            op::PROVISION,
            [
                Some(string(&payment_method_id, "paymentMethodId")),
                Some(string(
                    &get(&params, "paymentServiceId"),
                    "paymentServiceId",
                )),
                Some(string(&get(&params, "redirectUrl"), "redirectUrl")),
                code.as_string(),
            ],
            &options,
        )
    }

    pub fn list_payment_service_tokens(
        &self,
        payment_method_id: JsValue,
        params: JsValue,
        options: JsValue,
    ) -> Promise {
        call(
            &self.0,
            op::LIST,
            [
                Some(string(&payment_method_id, "paymentMethodId")),
                get(&params, "paymentServiceId").as_string(),
                None,
                None,
            ],
            &options,
        )
    }

    pub fn get_payment_service_token(
        &self,
        payment_method_id: JsValue,
        token_id: JsValue,
        options: JsValue,
    ) -> Promise {
        call(
            &self.0,
            op::PICK,
            [
                Some(string(&payment_method_id, "paymentMethodId")),
                Some(string(&token_id, "paymentServiceTokenId")),
                None,
                None,
            ],
            &options,
        )
    }

    pub fn wait_for_payment_service_token(
        &self,
        payment_method_id: JsValue,
        token_id: JsValue,
        options: JsValue,
    ) -> Promise {
        let token = string(&token_id, "paymentServiceTokenId");
        wait(&self.0, &payment_method_id, Some(token), &options)
    }
}
