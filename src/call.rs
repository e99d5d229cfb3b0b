//! One provider call, decided without doing any I/O: attempts, credentials per attempt,
//! classification of each answer into a value or an [`Error`], and GET retries with backoff.
//! The [`Env`] trait is the seam: `fetch.rs` implements it with fetch and timers, tests with a
//! scripted fake and a virtual clock.

use crate::config::{Auth, ClientConfig};
use crate::error::{Error, ErrorKind, is_retryable_status};
use crate::http::{Method, Request, Response, push_status};
use crate::providers::{error_details, tokenio};
use crate::retry::server_hint_ms;
use crate::status::Provider;
use crate::text::{push_ms, push_u32};
use crate::waits::Mailbox;
pub use crate::waits::WakeOn;
use alloc::string::String;
use alloc::vec::Vec;

/// Why an attempt produced no HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// The request could not be completed (DNS, refused, reset, CORS); the runtime's words.
    Network(String),
    /// The attempt's time ran out.
    Timeout,
    /// The caller's signal fired.
    Aborted,
    /// A terminal status was pushed to the wait this call belongs to (a webhook, `notify()`):
    /// the attempt or the delay was cut short, and the wait resolves with that status.
    Interrupted,
}

/// Why a `bearerToken` function gave no token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenFailure {
    /// It threw or its promise rejected.
    Threw,
    /// It returned something that is not a non-empty string.
    NotAString,
    /// The caller's signal fired while waiting for it.
    Aborted,
    /// Its promise did not settle within the attempt's time.
    TimedOut,
}

/// What a call needs from the outside world. One value per call: it carries the caller's
/// `AbortSignal`, so `send` and `sleep` end at once with [`Transport::Aborted`] when it fires.
#[allow(async_fn_in_trait)]
pub trait Env {
    /// Sends one request and reads its body (at most 4 MiB), within `timeout_ms`.
    async fn send(&self, request: &Request, timeout_ms: f64) -> Result<Response, Transport>;
    /// Waits `ms` milliseconds. Inside a wait, what is pushed to its mailbox may end the sleep
    /// early with [`Transport::Interrupted`]: a terminal status always, anything with
    /// [`WakeOn::Anything`].
    async fn sleep(&self, ms: f64, wake: WakeOn) -> Result<(), Transport>;
    /// Calls the `bearerToken` function for one attempt; a promise it returns may take at most
    /// `timeout_ms`, and the caller's signal ends the wait for it at once.
    async fn bearer_token(&self, timeout_ms: f64) -> Result<String, TokenFailure>;
    /// A monotonic clock in ms.
    fn now_ms(&self) -> f64;
    /// Wall-clock time in ms since the Unix epoch (for `Retry-After` dates).
    fn epoch_ms(&self) -> f64;
    /// A random number in `[0, 1)` (for jitter).
    fn random(&self) -> f64;
    /// A Gr4vy API token from the client's private key, for [`Auth::Minted`]: a fresh one, or
    /// the last one while it has time left. Its errors say what to check and hold no key byte.
    async fn minted_token(&self) -> Result<String, Error>;
    /// True once the caller's signal has fired.
    fn aborted(&self) -> bool;
    /// The mailbox of the wait this call belongs to, if it is part of one: statuses pushed by
    /// verified webhooks and `notify()`. `send` is cut short (with [`Transport::Interrupted`])
    /// when a terminal status arrives in it.
    fn mailbox(&self) -> Option<&Mailbox> {
        None
    }
}

/// One logical call.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    /// The client's settings.
    pub config: &'a ClientConfig,
    /// The request, without its credential (added per attempt).
    pub request: Request,
    /// What is looked up, for messages: `token request "rq:…"`.
    pub subject: &'a str,
    /// Per-attempt timeout in ms.
    pub timeout_ms: f64,
    /// An absolute end (on [`Env::now_ms`]'s clock) no attempt or delay may pass.
    pub deadline_ms: Option<f64>,
}

/// Runs a call to completion: the parsed value and the number of requests sent, or the error.
pub async fn execute<E: Env, T>(
    env: &E,
    call: &Call<'_>,
    parse: impl Fn(&Response) -> Result<T, Error>,
) -> Result<(T, u32), Error> {
    let config = call.config;
    let provider = config.provider;
    let max_retries = match call.request.method {
        Method::Get => config.retry.max_retries,
        Method::Post => 0,
    };
    // Tokens a bearerToken function gave during this call; with the configured credentials,
    // they are redacted from an error (only an error needs the list).
    let mut tokens: Vec<String> = Vec::new();
    let mut attempts: u32 = 0;
    loop {
        if env.aborted() {
            return Err(finish(aborted(provider), attempts, config, &tokens));
        }
        let mut timeout_ms = call.timeout_ms;
        let mut deadline_bound = false;
        if let Some(deadline) = call.deadline_ms {
            let left = deadline - env.now_ms();
            if left <= 0.0 {
                return Err(finish(
                    deadline_error(provider, call, attempts),
                    attempts,
                    config,
                    &tokens,
                ));
            }
            if left < timeout_ms {
                timeout_ms = left;
                deadline_bound = true;
            }
        }
        let mut request = call.request.clone();
        match apply_auth(env, config, &mut request, &mut tokens, timeout_ms).await {
            Ok(()) => {}
            Err(error) => return Err(finish(error, attempts, config, &tokens)),
        }
        attempts += 1;
        let error = match env.send(&request, timeout_ms).await {
            Ok(response) if response.is_success() => match parse(&response) {
                Ok(value) => return Ok((value, attempts)),
                Err(error) => error,
            },
            Ok(response) => {
                let mut error = http_error(provider, &response, call.subject);
                error.retry_after_ms = server_hint_ms(&response, env.epoch_ms());
                error
            }
            Err(Transport::Aborted | Transport::Interrupted) => {
                return Err(finish(aborted(provider), attempts, config, &tokens));
            }
            Err(Transport::Timeout) if deadline_bound => {
                return Err(finish(
                    deadline_error(provider, call, attempts),
                    attempts,
                    config,
                    &tokens,
                ));
            }
            Err(Transport::Timeout) => timeout_error(provider, call.subject, timeout_ms),
            Err(Transport::Network(reason)) => network_error(provider, &config.base_url, &reason),
        };
        let retry = attempts; // the retry this would be, 1-based
        if !error.retryable || retry > max_retries {
            return Err(finish(error, attempts, config, &tokens));
        }
        let delay = config
            .retry
            .delay_ms(retry, env.random(), error.retry_after_ms);
        if let Some(deadline) = call.deadline_ms {
            if env.now_ms() + delay >= deadline {
                return Err(finish(error, attempts, config, &tokens));
            }
        }
        // Only a terminal status ends a retry delay: the wait then resolves with it.
        if env.sleep(delay, WakeOn::Terminal).await.is_err() {
            return Err(finish(aborted(provider), attempts, config, &tokens));
        }
    }
}

/// Sets the attempt's credential header, calling the `bearerToken` function when there is one
/// (its promise may take at most the attempt's `timeout_ms`).
async fn apply_auth<E: Env>(
    env: &E,
    config: &ClientConfig,
    request: &mut Request,
    tokens: &mut Vec<String>,
    timeout_ms: f64,
) -> Result<(), Error> {
    match &config.auth {
        Auth::None => {}
        Auth::Static { header, value, .. } => request.set_header(header, value.clone()),
        Auth::Minted => {
            let token = env.minted_token().await?;
            let mut value = String::with_capacity(7 + token.len());
            value.push_str("bearer ");
            value.push_str(&token);
            if !tokens.contains(&token) {
                tokens.push(token);
            }
            request.set_header("authorization", value);
        }
        Auth::Dynamic { scheme } => {
            let token = env.bearer_token(timeout_ms).await.map_err(|failure| {
                let message = match failure {
                    TokenFailure::Threw => {
                        "The bearerToken function threw or its promise rejected; nothing was sent. Make it return the current token."
                    }
                    TokenFailure::NotAString => {
                        "The bearerToken function must return a non-empty string (or a Promise of one); nothing was sent."
                    }
                    TokenFailure::Aborted => return aborted(config.provider),
                    TokenFailure::TimedOut => {
                        let mut message = String::from(
                            "The bearerToken function's promise did not settle within ",
                        );
                        push_ms(&mut message, timeout_ms);
                        message.push_str(" ms; nothing was sent. Check the token source, or raise timeoutMs.");
                        return Error::new(ErrorKind::Timeout, config.provider, message);
                    }
                };
                Error::invalid_argument(config.provider, message)
            })?;
            let mut value = String::with_capacity(scheme.len() + 1 + token.len());
            value.push_str(scheme);
            value.push(' ');
            value.push_str(&token);
            if !tokens.contains(&token) {
                tokens.push(token);
            }
            request.set_header("authorization", value);
        }
    }
    for (name, value) in &config.headers {
        request.set_header(name, value.clone());
    }
    Ok(())
}

/// Records the attempt count and removes every known secret from the text: the configured
/// credentials and the tokens obtained during the call.
fn finish(mut error: Error, attempts: u32, config: &ClientConfig, tokens: &[String]) -> Error {
    error.attempts = attempts;
    let mut secrets = config.secrets();
    secrets.extend_from_slice(tokens);
    error.redact(&secrets);
    error
}

fn aborted(provider: Provider) -> Error {
    Error::new(
        ErrorKind::Aborted,
        provider,
        "The call was aborted by its AbortSignal; nothing more was sent.",
    )
}

/// The error for a non-2xx answer: kind by status, the provider's code, message and trace id,
/// and what to do about it.
pub fn http_error(provider: Provider, response: &Response, subject: &str) -> Error {
    let kind = ErrorKind::from_http_status(response.status);
    let details = error_details(provider, response);
    let mut message = String::with_capacity(256);
    message.push_str(provider.display_name());
    message.push_str(" answered HTTP ");
    push_status(&mut message, response.status);
    message.push_str(" for ");
    message.push_str(subject);
    match &details.message {
        Some(text) => {
            message.push_str(": ");
            message.push_str(text);
            if !text.ends_with('.') {
                message.push('.');
            }
        }
        None => message.push('.'),
    }
    message.push(' ');
    message.push_str(match kind {
        ErrorKind::Unauthorized => {
            "Check the credential, its scopes, and that it belongs to this environment (sandbox or production)."
        }
        ErrorKind::NotFound if provider == Provider::Gr4vy => {
            "Check the id, and that this client uses the same instance, environment and merchant account that created it."
        }
        ErrorKind::NotFound => {
            "Check the id, and that this client uses the same environment (sandbox or production) that created it."
        }
        ErrorKind::RateLimited => {
            "The provider is rate limiting: slow down, or allow more retries and a longer maxDelayMs."
        }
        ErrorKind::BadRequest => "The provider refused the request as sent; fix the arguments.",
        ErrorKind::ProviderError if is_retryable_status(response.status) => {
            "The provider failed; this is temporary, try again later."
        }
        ErrorKind::ProviderError => "The provider does not support this call here; retrying will not help.",
        _ => "The answer was unexpected; check baseUrl.",
    });
    let mut error = Error::new(kind, provider, message);
    error.status = Some(response.status);
    error.retryable = is_retryable_status(response.status);
    error.code = details.code;
    error.trace_id = details.trace_id;
    error.external = provider == Provider::TokenIo && tokenio::is_external(response);
    if let Some(trace) = &error.trace_id {
        error.message.push_str(" Trace id: ");
        error.message.push_str(trace);
        error.message.push('.');
    }
    error
}

fn timeout_error(provider: Provider, subject: &str, timeout_ms: f64) -> Error {
    let mut message = String::with_capacity(160);
    message.push_str("No answer from ");
    message.push_str(provider.display_name());
    message.push_str(" for ");
    message.push_str(subject);
    message.push_str(" within ");
    push_ms(&mut message, timeout_ms);
    message.push_str(" ms. It may be slow or unreachable: try again, or raise timeoutMs.");
    Error::new(ErrorKind::Timeout, provider, message)
}

fn deadline_error(provider: Provider, call: &Call<'_>, attempts: u32) -> Error {
    let mut message = String::with_capacity(160);
    message.push_str("The deadline for ");
    message.push_str(call.subject);
    message.push_str(" passed after ");
    push_u32(&mut message, attempts);
    message.push_str(if attempts == 1 {
        " request."
    } else {
        " requests."
    });
    message.push_str(" Try again, or allow more time.");
    Error::new(ErrorKind::Timeout, provider, message)
}

fn network_error(provider: Provider, base_url: &str, reason: &str) -> Error {
    let mut message = String::with_capacity(200);
    message.push_str("Could not reach ");
    message.push_str(provider.display_name());
    message.push_str(" at ");
    message.push_str(base_url);
    if !reason.is_empty() {
        message.push_str(" (");
        message.push_str(&crate::text::truncate(reason, 200));
        message.push(')');
    }
    message.push_str(". Check the network and baseUrl; in a browser, check that the proxy answers CORS requests.");
    Error::new(ErrorKind::Network, provider, message)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) mod testing {
    //! A scripted [`Env`] with a virtual clock, and a tiny executor for its always-ready futures.

    use super::*;
    use crate::waits::{WaitKey, Waits};
    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;
    use std::future::Future;
    use std::pin::pin;
    use std::rc::Rc;
    use std::task::{Context, Poll, Waker};

    /// Polls a future that never waits on anything outside itself.
    pub fn block_on<F: Future>(future: F) -> F::Output {
        let mut future = pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
                return value;
            }
        }
    }

    /// One scripted outcome of `send`, and how long it takes on the virtual clock.
    pub enum Step {
        Answer(u16, &'static [(&'static str, &'static str)], &'static str),
        Fail(Transport),
        Slow(f64, Box<Step>),
        /// Something is pushed to the client's waits while the request is in flight.
        Push(Box<Push>, Box<Step>),
    }

    /// What a webhook or `notify()` pushes.
    pub enum Push {
        Status(Box<crate::status::TokenStatus>),
        PollNow(&'static str),
    }

    /// The fake: answers `send` from a script, advances a virtual clock, records everything.
    pub struct FakeEnv {
        pub script: RefCell<VecDeque<Step>>,
        pub sent: RefCell<Vec<(Request, f64)>>,
        pub slept: RefCell<Vec<f64>>,
        pub now: Cell<f64>,
        pub epoch_offset: f64,
        pub random: f64,
        pub tokens: RefCell<VecDeque<Result<String, TokenFailure>>>,
        pub minted: RefCell<VecDeque<Result<String, Error>>>,
        pub abort_after_sends: Cell<Option<usize>>,
        /// The client's waits, and the mailbox of the wait under test (see [`FakeEnv::waiting`]).
        pub waits: Waits,
        pub mailbox: Option<Rc<Mailbox>>,
        /// For each sleep in turn: something pushed halfway through it, or nothing.
        pub sleep_pushes: RefCell<VecDeque<Option<Push>>>,
        /// How many pushes reached a wait.
        pub reached: Cell<usize>,
    }

    impl FakeEnv {
        pub fn new(script: Vec<Step>) -> FakeEnv {
            FakeEnv {
                script: RefCell::new(script.into()),
                sent: RefCell::new(Vec::new()),
                slept: RefCell::new(Vec::new()),
                now: Cell::new(0.0),
                epoch_offset: 1_795_251_600_000.0,
                random: 0.5,
                tokens: RefCell::new(VecDeque::new()),
                minted: RefCell::new(VecDeque::new()),
                abort_after_sends: Cell::new(None),
                waits: Waits::default(),
                mailbox: None,
                sleep_pushes: RefCell::new(VecDeque::new()),
                reached: Cell::new(0),
            }
        }

        /// This env as one wait's, registered on `key` with the client's waits.
        pub fn waiting(mut self, key: WaitKey) -> FakeEnv {
            self.mailbox = Some(self.waits.register(key));
            self
        }

        fn push(&self, push: Push) {
            let reached = match push {
                Push::Status(status) => self.waits.notify(status.provider, &status),
                Push::PollNow(method) => self.waits.poll_now(method),
            };
            self.reached.set(self.reached.get() + reached);
        }

        /// Arms the mailbox (if any) for a suspension; the flag turns true when it is woken.
        /// `None` when something already waiting in it would wake it.
        fn arm(&self, on: WakeOn) -> Option<Rc<Cell<bool>>> {
            let woken = Rc::new(Cell::new(false));
            if let Some(mailbox) = &self.mailbox {
                let flag = woken.clone();
                if !mailbox.arm(on, Box::new(move || flag.set(true))) {
                    return None;
                }
            }
            Some(woken)
        }
    }

    impl Env for FakeEnv {
        async fn send(&self, request: &Request, timeout_ms: f64) -> Result<Response, Transport> {
            let Some(woken) = self.arm(WakeOn::Terminal) else {
                return Err(Transport::Interrupted);
            };
            self.sent.borrow_mut().push((request.clone(), timeout_ms));
            let mut step = self
                .script
                .borrow_mut()
                .pop_front()
                .expect("script ran out");
            let outcome = loop {
                match step {
                    Step::Push(push, inner) => {
                        self.push(*push);
                        if woken.get() {
                            break Err(Transport::Interrupted);
                        }
                        step = *inner;
                    }
                    Step::Slow(ms, inner) => {
                        if ms >= timeout_ms {
                            self.now.set(self.now.get() + timeout_ms);
                            break Err(Transport::Timeout);
                        }
                        self.now.set(self.now.get() + ms);
                        step = *inner;
                    }
                    Step::Fail(failure) => break Err(failure),
                    Step::Answer(status, headers, body) => {
                        break Ok(Response {
                            status,
                            headers: headers
                                .iter()
                                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                                .collect(),
                            body: body.as_bytes().to_vec(),
                            truncated: false,
                        });
                    }
                }
            };
            if let Some(mailbox) = &self.mailbox {
                mailbox.disarm();
            }
            outcome
        }

        async fn sleep(&self, ms: f64, wake: WakeOn) -> Result<(), Transport> {
            self.slept.borrow_mut().push(ms);
            let Some(woken) = self.arm(wake) else {
                return Err(Transport::Interrupted);
            };
            let push = self.sleep_pushes.borrow_mut().pop_front().flatten();
            if let Some(push) = push {
                self.now.set(self.now.get() + ms / 2.0);
                self.push(push);
                if woken.get() {
                    return Err(Transport::Interrupted);
                }
                self.now.set(self.now.get() + ms / 2.0);
            } else {
                self.now.set(self.now.get() + ms);
            }
            if let Some(mailbox) = &self.mailbox {
                mailbox.disarm();
            }
            if self.aborted() {
                return Err(Transport::Aborted);
            }
            Ok(())
        }

        async fn minted_token(&self) -> Result<String, Error> {
            self.minted
                .borrow_mut()
                .pop_front()
                .unwrap_or(Ok("minted-jwt".to_owned()))
        }

        async fn bearer_token(&self, _timeout_ms: f64) -> Result<String, TokenFailure> {
            self.tokens
                .borrow_mut()
                .pop_front()
                .unwrap_or(Ok("jwt-default".to_owned()))
        }

        fn now_ms(&self) -> f64 {
            self.now.get()
        }

        fn epoch_ms(&self) -> f64 {
            self.epoch_offset + self.now.get()
        }

        fn random(&self) -> f64 {
            self.random
        }

        fn aborted(&self) -> bool {
            self.abort_after_sends
                .get()
                .is_some_and(|n| self.sent.borrow().len() >= n)
        }

        fn mailbox(&self) -> Option<&Mailbox> {
            self.mailbox.as_deref()
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::providers::tokenio;
    use crate::retry::RetryPolicy;
    use crate::status::TokenState;

    const ID: &str = "rq:abc:def";
    const PENDING: &str = r#"{"status":"PENDING"}"#;
    const PROCESSED: &str = r#"{"status":"PROCESSED","tokenId":"tt:1"}"#;

    fn config() -> ClientConfig {
        let mut config = ClientConfig::new(Provider::TokenIo, "http://sim/tokenio".into());
        config.auth = Auth::Static {
            header: "authorization",
            value: "Basic c2VjcmV0LWJhc2ljLXZhbHVl".into(),
            secret: "c2VjcmV0LWJhc2ljLXZhbHVl".into(),
        };
        config
    }

    fn run(
        env: &FakeEnv,
        config: &ClientConfig,
        deadline: Option<f64>,
    ) -> Result<(crate::status::TokenStatus, u32), Error> {
        let call = Call {
            config,
            request: tokenio::result_request(config, ID).unwrap(),
            subject: "token request \"rq:abc:def\"",
            timeout_ms: config.timeout_ms,
            deadline_ms: deadline,
        };
        block_on(execute(env, &call, |r| tokenio::parse_result(ID, r)))
    }

    #[test]
    fn success_first_time_with_credential() {
        let env = FakeEnv::new(vec![Step::Answer(200, &[], PROCESSED)]);
        let (status, attempts) = run(&env, &config(), None).unwrap();
        assert_eq!((status.state, attempts), (TokenState::Succeeded, 1));
        let sent = env.sent.borrow();
        assert_eq!(
            sent[0].0.headers,
            [(
                "authorization".to_owned(),
                "Basic c2VjcmV0LWJhc2ljLXZhbHVl".to_owned()
            )]
        );
        assert_eq!(sent[0].1, 30_000.0);
    }

    #[test]
    fn retries_with_backoff_then_succeeds() {
        let env = FakeEnv::new(vec![
            Step::Answer(503, &[], ""),
            Step::Fail(Transport::Network("fetch failed".into())),
            Step::Answer(200, &[], PENDING),
        ]);
        let (status, attempts) = run(&env, &config(), None).unwrap();
        assert_eq!((status.state, attempts), (TokenState::Pending, 3));
        // Equal jitter at random = 0.5: 3/4 of 250 and of 500.
        assert_eq!(*env.slept.borrow(), [187.5, 375.0]);
    }

    #[test]
    fn gives_up_after_max_retries_with_the_last_error() {
        let env = FakeEnv::new(vec![
            Step::Answer(500, &[], ""),
            Step::Answer(502, &[], ""),
            Step::Answer(
                429,
                &[("retry-after", "1")],
                r#"{"error":{"errorCode":"RESOURCE_EXHAUSTED","message":"Slow down","tokenTraceId":"tr-9"}}"#,
            ),
        ]);
        let error = run(&env, &config(), None).unwrap_err();
        assert_eq!(error.kind, ErrorKind::RateLimited);
        assert_eq!(error.attempts, 3);
        assert_eq!(error.status, Some(429));
        assert_eq!(error.code.as_deref(), Some("RESOURCE_EXHAUSTED"));
        assert_eq!(error.trace_id.as_deref(), Some("tr-9"));
        assert!(error.retryable);
        assert!(error.message.contains("Slow down"), "{}", error.message);
    }

    #[test]
    fn server_hints_win_and_are_capped() {
        let env = FakeEnv::new(vec![
            Step::Answer(503, &[("retry-after", "2")], ""),
            Step::Answer(503, &[("retry-after", "3600")], ""),
            Step::Answer(200, &[], PENDING),
        ]);
        let mut config = config();
        config.retry.max_delay_ms = 5000.0;
        run(&env, &config, None).unwrap();
        assert_eq!(*env.slept.borrow(), [2000.0, 5000.0]);
    }

    #[test]
    fn permanent_failures_are_not_retried() {
        for status in [400, 401, 403, 404, 405, 409, 422, 501] {
            let env = FakeEnv::new(vec![Step::Answer(status, &[], "")]);
            let error = run(&env, &config(), None).unwrap_err();
            assert_eq!(error.attempts, 1, "{status}");
            assert!(!error.retryable, "{status}");
            assert!(env.slept.borrow().is_empty());
        }
    }

    #[test]
    fn invalid_bodies_are_not_retried() {
        let env = FakeEnv::new(vec![Step::Answer(200, &[], "<html>oops</html>")]);
        let error = run(&env, &config(), None).unwrap_err();
        assert_eq!(
            (error.kind, error.attempts, error.retryable),
            (ErrorKind::InvalidResponse, 1, false)
        );
    }

    #[test]
    fn timeouts_are_retried() {
        let env = FakeEnv::new(vec![
            Step::Slow(60_000.0, Box::new(Step::Answer(200, &[], PENDING))),
            Step::Answer(200, &[], PENDING),
        ]);
        let (_, attempts) = run(&env, &config(), None).unwrap();
        assert_eq!(attempts, 2);
        let env = FakeEnv::new(vec![
            Step::Fail(Transport::Timeout),
            Step::Fail(Transport::Timeout),
            Step::Fail(Transport::Timeout),
        ]);
        let error = run(&env, &config(), None).unwrap_err();
        assert_eq!(
            (error.kind, error.attempts, error.retryable),
            (ErrorKind::Timeout, 3, true)
        );
    }

    #[test]
    fn disabled_retries_send_once() {
        let env = FakeEnv::new(vec![Step::Answer(503, &[], "")]);
        let mut config = config();
        config.retry = RetryPolicy::DISABLED;
        let error = run(&env, &config, None).unwrap_err();
        assert_eq!(
            (error.kind, error.attempts, error.retryable),
            (ErrorKind::ProviderError, 1, true)
        );
    }

    #[test]
    fn posts_are_never_retried() {
        let env = FakeEnv::new(vec![Step::Fail(Transport::Network("reset".into()))]);
        let config = config();
        let mut request = tokenio::result_request(&config, ID).unwrap();
        request.method = Method::Post;
        let call = Call {
            config: &config,
            request,
            subject: "x",
            timeout_ms: 1000.0,
            deadline_ms: None,
        };
        let error = block_on(execute(&env, &call, |_| Ok(()))).unwrap_err();
        assert_eq!((error.kind, error.attempts), (ErrorKind::Network, 1));
    }

    #[test]
    fn deadlines_bound_attempts_and_delays() {
        // The attempt is cut to what is left of the deadline.
        let env = FakeEnv::new(vec![Step::Slow(
            5000.0,
            Box::new(Step::Answer(200, &[], PENDING)),
        )]);
        let error = run(&env, &config(), Some(1000.0)).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Timeout);
        assert_eq!(env.sent.borrow()[0].1, 1000.0);
        assert_eq!(env.now.get(), 1000.0);
        // A retry delay that would pass the deadline is not slept: the error is returned at once.
        let env = FakeEnv::new(vec![Step::Answer(503, &[("retry-after", "10")], "")]);
        let error = run(&env, &config(), Some(5000.0)).unwrap_err();
        assert_eq!(
            (error.kind, error.status),
            (ErrorKind::ProviderError, Some(503))
        );
        assert!(env.slept.borrow().is_empty());
    }

    #[test]
    fn aborts_stop_everything() {
        let env = FakeEnv::new(vec![Step::Answer(503, &[], "")]);
        env.abort_after_sends.set(Some(1));
        let error = run(&env, &config(), None).unwrap_err();
        assert_eq!(
            (error.kind, error.attempts, error.retryable),
            (ErrorKind::Aborted, 1, false)
        );
        let env = FakeEnv::new(vec![Step::Fail(Transport::Aborted)]);
        assert_eq!(
            run(&env, &config(), None).unwrap_err().kind,
            ErrorKind::Aborted
        );
    }

    #[test]
    fn bearer_functions_run_per_attempt_and_are_redacted() {
        let env = FakeEnv::new(vec![
            Step::Answer(500, &[], ""),
            Step::Answer(401, &[], r#"{"error":{"message":"token jwt-2 expired"}}"#),
        ]);
        env.tokens
            .borrow_mut()
            .extend([Ok("jwt-1".to_owned()), Ok("jwt-2".to_owned())]);
        let mut config = config();
        config.auth = Auth::Dynamic { scheme: "Bearer" };
        let error = run(&env, &config, None).unwrap_err();
        let sent = env.sent.borrow();
        assert_eq!(sent[0].0.headers[0].1, "Bearer jwt-1");
        assert_eq!(sent[1].0.headers[0].1, "Bearer jwt-2");
        assert_eq!(error.kind, ErrorKind::Unauthorized);
        assert!(
            error.message.contains("token [redacted] expired"),
            "{}",
            error.message
        );
    }

    #[test]
    fn minted_tokens_go_per_attempt_as_lower_case_bearer_and_are_redacted() {
        let env = FakeEnv::new(vec![
            Step::Answer(503, &[], ""),
            Step::Answer(
                401,
                &[],
                r#"{"error":{"message":"jwt ey.minted.2 rejected"}}"#,
            ),
        ]);
        env.minted
            .borrow_mut()
            .extend([Ok("ey.minted.1".to_owned()), Ok("ey.minted.2".to_owned())]);
        let mut config = config();
        config.auth = Auth::Minted;
        let error = run(&env, &config, None).unwrap_err();
        let sent = env.sent.borrow();
        assert_eq!(sent[0].0.headers[0].1, "bearer ey.minted.1");
        assert_eq!(sent[1].0.headers[0].1, "bearer ey.minted.2");
        assert!(
            error.message.contains("jwt [redacted] rejected"),
            "{}",
            error.message
        );
    }

    #[test]
    fn a_token_that_cannot_be_minted_sends_nothing() {
        let env = FakeEnv::new(vec![]);
        env.minted
            .borrow_mut()
            .push_back(Err(Error::invalid_argument(
                Provider::Gr4vy,
                "This runtime cannot sign ECDSA P-521.",
            )));
        let mut config = config();
        config.auth = Auth::Minted;
        let error = run(&env, &config, None).unwrap_err();
        assert_eq!(
            (error.kind, error.attempts),
            (ErrorKind::InvalidArgument, 0)
        );
        assert!(env.sent.borrow().is_empty());
    }

    #[test]
    fn failing_bearer_functions_send_nothing() {
        for (failure, kind) in [
            (TokenFailure::Threw, ErrorKind::InvalidArgument),
            (TokenFailure::NotAString, ErrorKind::InvalidArgument),
            (TokenFailure::TimedOut, ErrorKind::Timeout),
            (TokenFailure::Aborted, ErrorKind::Aborted),
        ] {
            let env = FakeEnv::new(vec![]);
            env.tokens.borrow_mut().push_back(Err(failure));
            let mut config = config();
            config.auth = Auth::Dynamic { scheme: "Bearer" };
            let error = run(&env, &config, None).unwrap_err();
            assert_eq!((error.kind, error.attempts), (kind, 0));
            assert!(env.sent.borrow().is_empty());
        }
    }

    #[test]
    fn static_secrets_echoed_by_the_provider_are_redacted() {
        let env = FakeEnv::new(vec![Step::Answer(
            403,
            &[],
            r#"{"error":{"errorCode":"PermissionDenied","message":"key c2VjcmV0LWJhc2ljLXZhbHVl is not allowed","tokenTraceId":"t"}}"#,
        )]);
        let error = run(&env, &config(), None).unwrap_err();
        assert!(!error.message.contains("c2VjcmV0"), "{}", error.message);
        assert_eq!(error.code.as_deref(), Some("PermissionDenied"));
    }

    #[test]
    fn external_errors_are_flagged() {
        let env = FakeEnv::new(vec![Step::Answer(
            503,
            &[("token-external-error", "true")],
            r#"{"error":{"errorCode":"UNAVAILABLE","message":"Bank down"}}"#,
        )]);
        let mut config = config();
        config.retry = RetryPolicy::DISABLED;
        let error = run(&env, &config, None).unwrap_err();
        assert!(error.external);
        assert!(error.retryable);
    }
}
