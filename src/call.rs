//! One provider call, decided without doing any I/O: attempts, credentials per request sent,
//! classification of each answer into a value or an [`Error`], and GET retries with backoff.
//!
//! The seam has two sides. [`Io`] is the client's: it sends a request and gets credentials, for
//! an attempt that several callers may share (see [`crate::share`]: identical reads in flight
//! share one attempt). [`Env`] is one caller's: its clock and timers, its `AbortSignal`, and for
//! a wait its mailbox — so each caller bounds its own part in a shared attempt by its own
//! timeout and signal. `fetch.rs` implements both with fetch and one timer queue; the tests with
//! a scripted fake on a virtual clock.

use crate::config::{Auth, ClientConfig};
use crate::error::{Error, ErrorKind, is_retryable_status};
use crate::http::{Method, Request, Response, push_status};
use crate::providers::{error_details, tokenio};
use crate::retry::server_hint_ms;
use crate::share::{Attempted, Outcome, Permit, Phase, Progress, Reply, Shared};
use crate::status::Provider;
use crate::text::{push_ms, push_u32};
use crate::waits::Mailbox;
pub use crate::waits::WakeOn;
use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::future::Future;

/// Why a caller stopped waiting for an attempt (or a delay).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// The attempt's time ran out.
    Timeout,
    /// The caller's signal fired.
    Aborted,
    /// A terminal status was pushed to the wait this call belongs to (a webhook, `notify()`), or
    /// for a sleep between polls anything at all: the wait takes it from its mailbox.
    Interrupted,
}

/// Why a `bearerToken` function gave no token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFailure {
    /// It threw or its promise rejected.
    Threw,
    /// It returned something that is not a non-empty string.
    NotAString,
}

/// The client's side of the seam: what an attempt needs, whoever is waiting for it. An attempt
/// owns its `Rc<Io>`, since it may outlive the caller that started it.
#[allow(async_fn_in_trait)]
pub trait Io: 'static {
    /// The client's settings.
    fn config(&self) -> &ClientConfig;
    /// What the client's calls share: attempts in flight and places in flight.
    fn shared(&self) -> &Shared;
    /// Sends one request and reads its body (at most 4 MiB); the error is the runtime's words
    /// for a request that got no answer. No timeout of its own: callers bound their wait for
    /// it, and dropping the future aborts the request.
    async fn fetch(&self, request: &Request) -> Result<Response, String>;
    /// Calls the `bearerToken` function for one request.
    async fn bearer_token(&self) -> Result<String, TokenFailure>;
    /// A Gr4vy API token from the client's private key, for [`Auth::Minted`]: a fresh one, or
    /// the last one while it has time left. Its errors say what to check and hold no key byte.
    async fn minted_token(&self) -> Result<String, Error>;
    /// A 2xx answer to a list of Gr4vy payment method `payment_method_id`'s tokens arrived,
    /// whoever asked: the client's waits on those tokens may take their status from it.
    fn listed(&self, payment_method_id: &str, reply: &Reply) {
        let _ = (payment_method_id, reply);
    }
}

/// One caller's side of the seam: one value per call. It carries the caller's `AbortSignal`,
/// so that what it waits for ends at once with [`Transport::Aborted`] when it fires.
#[allow(async_fn_in_trait)]
pub trait Env {
    /// The client's side.
    type Io: Io;
    /// The client this call is on.
    fn io(&self) -> &Rc<Self::Io>;
    /// Waits for `future` for at most `timeout_ms`. Ends early with [`Transport::Aborted`] when
    /// the signal fires, and inside a wait with [`Transport::Interrupted`] when its mailbox
    /// receives what `wake` says (checked before `future` is first polled, too).
    async fn within<F: Future>(
        &self,
        future: F,
        timeout_ms: f64,
        wake: WakeOn,
    ) -> Result<F::Output, Transport>;
    /// Waits `ms` milliseconds, with the same early ends as [`Env::within`].
    async fn sleep(&self, ms: f64, wake: WakeOn) -> Result<(), Transport>;
    /// A monotonic clock in ms.
    fn now_ms(&self) -> f64;
    /// Wall-clock time in ms since the Unix epoch (for `Retry-After` dates).
    fn epoch_ms(&self) -> f64;
    /// A random number in `[0, 1)` (for jitter).
    fn random(&self) -> f64;
    /// True once the caller's signal has fired.
    fn aborted(&self) -> bool;
    /// The mailbox of the wait this call belongs to, if it is part of one: statuses pushed by
    /// verified webhooks and `notify()`, and statuses served from other calls' Gr4vy lists.
    fn mailbox(&self) -> Option<&Mailbox> {
        None
    }
}

/// What a call looks up, for messages: `token request "rq:…"` (written only when a message
/// needs it).
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// What kind of thing: `token request`, `payment service token`…
    pub what: &'static str,
    /// Its id, as given.
    pub id: &'a str,
}

impl Subject<'_> {
    /// Appends `what "id"`, the id shortened to 80 bytes.
    pub fn push_to(&self, out: &mut String) {
        out.push_str(self.what);
        out.push_str(" \"");
        out.push_str(&crate::text::truncate(self.id, 80));
        out.push('"');
    }
}

/// One logical call.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The request, without its credential (added per request sent); shared with the attempts
    /// that send it.
    pub request: &'a Rc<Request>,
    /// What is looked up, for messages.
    pub subject: Subject<'a>,
    /// Per-attempt timeout in ms.
    pub timeout_ms: f64,
    /// An absolute end (on [`Env::now_ms`]'s clock) no attempt or delay may pass.
    pub deadline_ms: Option<f64>,
    /// For a Gr4vy list: the payment method, whose waits may take their status from the answer.
    pub listing: Option<&'a str>,
}

/// Runs a call to completion: the parsed value and the number of requests sent, or the error.
/// GETs join an identical attempt already in flight on the client instead of sending their own.
#[allow(clippy::manual_async_fn)] // an `async fn` would keep its arguments twice
pub fn execute<'f, E: Env, T: 'f>(
    env: &'f E,
    call: &'f Call<'_>,
    parse: impl Fn(&Reply) -> Result<T, Error> + 'f,
) -> impl Future<Output = Result<(T, u32), Error>> + 'f {
    // `parse` and its value side by side, reached through one reference: the closure handed
    // to `run_call` holds one pointer, not two, and the poll's state stays below the
    // allocator's next 16-byte step. An `async move` block rather than an `async fn`: its state
    // holds the arguments once (see `run_call`).
    let mut kept: (_, Option<Box<T>>) = (parse, None);
    async move {
        // The call loop is one function for every kind of value (a single status, a list): it
        // hands each 2xx answer to `parse`, which keeps the value here — boxed, so that a poll's
        // state (kept while it waits for a place in flight and for its answer) holds a pointer
        // to it rather than room for it (a status is 148 B on wasm32).
        let slot = &mut kept;
        let sent = run_call(env, call, &mut move |reply| {
            slot.1 = Some(Box::new((slot.0)(reply)?));
            Ok(())
        })
        .await?;
        // `run_call` succeeds only once `parse` has.
        kept.1.map(|value| (*value, sent)).ok_or_else(|| {
            let provider = env.io().config().provider;
            Error::invalid_response(provider, 0, "no answer was read")
        })
    }
}

/// [`execute`]'s loop: the number of requests sent once `parse` took a 2xx answer, or the error.
///
/// A plain function returning an `async move` block, not an `async fn`: the block's state then
/// holds its arguments once (an `async fn` keeps them twice, as given and as moved into its
/// body), and the client's configuration is read from `env` where it is needed instead of
/// being kept: this state is what every queued poll holds while it waits for a place.
#[allow(clippy::manual_async_fn)] // an `async fn` would keep its arguments twice
fn run_call<'f, E: Env>(
    env: &'f E,
    call: &'f Call<'_>,
    parse: &'f mut dyn FnMut(&Reply) -> Result<(), Error>,
) -> impl Future<Output = Result<u32, Error>> + 'f {
    async move {
        // Tokens a bearerToken function or the key gave during this call; with the configured
        // credentials, they are redacted from an error (only an error needs the list).
        let mut tokens: Vec<String> = Vec::new();
        let mut attempts: u32 = 0;
        // The attempt last counted: a retry that joins the same attempt counts it once.
        let mut counted = 0;
        // Attempts taken part in (sent or not): at most `max_retries + 1`.
        let mut tries: u32 = 0;
        loop {
            if env.aborted() {
                return Err(finish(
                    aborted(env.io().config().provider),
                    attempts,
                    env.io().config(),
                    &tokens,
                ));
            }
            if call.deadline_ms.is_some() && left(env, call).is_some_and(|left| left <= 0.0) {
                return Err(finish(
                    deadline_error(env.io().config().provider, call, attempts),
                    attempts,
                    env.io().config(),
                    &tokens,
                ));
            }
            tries += 1;
            let mut seat = {
                let shared = env.io().shared();
                let (owner, request) = (env.io().clone(), call.request.clone());
                let key = match call.request.method {
                    Method::Get => Some(call.request),
                    Method::Post => None,
                };
                let listing = call.listing.map(ToOwned::to_owned);
                shared
                    .flights
                    .join(key, &shared.gate, move |place, progress| {
                        Box::pin(attempt(owner, request, place, progress, listing))
                            as crate::share::Attempt
                    })
            };
            // Waiting for a place in flight counts against the deadline, not the attempt's time:
            // that starts when the request (or its credential lookup) does. An attempt that will
            // have a place at once (most) skips this.
            let queued = if seat.phase() == Phase::Queued && !env.io().shared().gate.has_room() {
                let left = left(env, call).unwrap_or(f64::INFINITY);
                env.within(seat.started(), left, WakeOn::Terminal).await
            } else {
                Ok(None)
            };
            let mut timeout_ms = call.timeout_ms;
            let mut deadline_bound = false;
            if let Some(left) = call.deadline_ms.and(left(env, call)) {
                if left < timeout_ms {
                    timeout_ms = left.max(0.0);
                    deadline_bound = true;
                }
            }
            let waited = match queued {
                Ok(Some(outcome)) => Ok(outcome),
                Ok(None) => {
                    env.within(seat.outcome(), timeout_ms, WakeOn::Terminal)
                        .await
                }
                Err(Transport::Timeout) => {
                    deadline_bound = true;
                    Err(Transport::Timeout)
                }
                Err(other) => Err(other),
            };
            let phase = seat.phase();
            let sent = match &waited {
                Ok(outcome) => !matches!(outcome.attempted, Attempted::NoCredential(_)),
                Err(_) => phase == Phase::Sent,
            };
            if sent && seat.serial() != counted {
                counted = seat.serial();
                attempts += 1;
            }
            drop(seat);
            // In a block: the error is not kept through the retry delay.
            let delay = {
                let error = match waited {
                    Ok(outcome) => {
                        if let Some(token) = &outcome.token {
                            if !tokens.contains(token) {
                                tokens.push(token.clone());
                            }
                        }
                        match &outcome.attempted {
                            Attempted::Answered(reply) if reply.response.is_success() => {
                                match parse(reply) {
                                    Ok(()) => return Ok(attempts),
                                    Err(error) => error,
                                }
                            }
                            Attempted::Answered(reply) => {
                                let mut error = http_error(
                                    env.io().config().provider,
                                    &reply.response,
                                    call.subject,
                                );
                                error.retry_after_ms =
                                    server_hint_ms(&reply.response, env.epoch_ms());
                                error
                            }
                            Attempted::Network(reason) => network_error(
                                env.io().config().provider,
                                &env.io().config().base_url,
                                reason,
                            ),
                            Attempted::NoCredential(error) => {
                                return Err(finish(
                                    error.clone(),
                                    attempts,
                                    env.io().config(),
                                    &tokens,
                                ));
                            }
                        }
                    }
                    Err(Transport::Aborted | Transport::Interrupted) => {
                        return Err(finish(
                            aborted(env.io().config().provider),
                            attempts,
                            env.io().config(),
                            &tokens,
                        ));
                    }
                    Err(Transport::Timeout) if deadline_bound => {
                        return Err(finish(
                            deadline_error(env.io().config().provider, call, attempts),
                            attempts,
                            env.io().config(),
                            &tokens,
                        ));
                    }
                    // The credential never came: nothing was sent, and trying again would not help.
                    Err(Transport::Timeout)
                        if phase == Phase::Authorizing
                            && matches!(env.io().config().auth, Auth::Dynamic { .. }) =>
                    {
                        let mut message = String::from(
                            "The bearerToken function's promise did not settle within ",
                        );
                        push_ms(&mut message, timeout_ms);
                        message.push_str(
                            " ms; nothing was sent. Check the token source, or raise timeoutMs.",
                        );
                        let error =
                            Error::new(ErrorKind::Timeout, env.io().config().provider, message);
                        return Err(finish(error, attempts, env.io().config(), &tokens));
                    }
                    Err(Transport::Timeout) => {
                        timeout_error(env.io().config().provider, call.subject, timeout_ms)
                    }
                };
                let retry = tries; // the retry this would be, 1-based
                let max_retries = match call.request.method {
                    Method::Get => env.io().config().retry.max_retries,
                    Method::Post => 0,
                };
                if !error.retryable || retry > max_retries {
                    return Err(finish(error, attempts, env.io().config(), &tokens));
                }
                let delay =
                    env.io()
                        .config()
                        .retry
                        .delay_ms(retry, env.random(), error.retry_after_ms);
                if let Some(deadline) = call.deadline_ms {
                    if env.now_ms() + delay >= deadline {
                        return Err(finish(error, attempts, env.io().config(), &tokens));
                    }
                }
                delay
            };
            // Only a terminal status ends a retry delay: the wait then resolves with it.
            if env.sleep(delay, WakeOn::Terminal).await.is_err() {
                return Err(finish(
                    aborted(env.io().config().provider),
                    attempts,
                    env.io().config(),
                    &tokens,
                ));
            }
        }
    }
}

/// Time left before the call's deadline, when it has one.
fn left<E: Env>(env: &E, call: &Call<'_>) -> Option<f64> {
    call.deadline_ms.map(|deadline| deadline - env.now_ms())
}

/// One attempt, shared by every caller on its flight, once it has a place in flight: the
/// credential, the request. `phase` tells the callers where it is; `listing` (a Gr4vy list's payment method)
/// lets the client's waits on that payment method take their status from a 2xx answer.
pub async fn attempt<I: Io>(
    io: Rc<I>,
    request: Rc<Request>,
    place: Permit,
    progress: Progress,
    listing: Option<String>,
) -> Outcome {
    // Held to the end: the place in flight is given back with the answer.
    let _place = place;
    // Only a credential obtained per request needs a copy of the request (and the await: boxed,
    // so that the attempt's state is small for the static credentials of most clients).
    let mut own = None;
    let mut token = None;
    if matches!(io.config().auth, Auth::Minted | Auth::Dynamic { .. }) {
        let mut copy = Request::clone(&request);
        match Box::pin(authorize(&*io, &mut copy)).await {
            Ok(obtained) => token = obtained,
            Err(error) => {
                return Outcome {
                    attempted: Attempted::NoCredential(error),
                    token: None,
                };
            }
        }
        own = Some(copy);
    }
    progress.set(Phase::Sent);
    let attempted = match io.fetch(own.as_ref().unwrap_or(&request)).await {
        Ok(response) => {
            let reply = Reply::new(response);
            if let Some(payment_method_id) = &listing {
                if reply.response.is_success() {
                    io.listed(payment_method_id, &reply);
                }
            }
            Attempted::Answered(reply)
        }
        Err(reason) => Attempted::Network(reason),
    };
    Outcome { attempted, token }
}

/// Sets the request's own credential header, for a credential obtained per request (a
/// `bearerToken` function, the Gr4vy key); returns the token, for redaction. A static
/// credential and the configured headers are added by the I/O seam
/// ([`ClientConfig::request_headers`]).
async fn authorize<I: Io>(io: &I, request: &mut Request) -> Result<Option<String>, Error> {
    let config = io.config();
    let (scheme, token) = match &config.auth {
        Auth::None | Auth::Static { .. } => return Ok(None),
        Auth::Minted => ("bearer", io.minted_token().await?),
        Auth::Dynamic { scheme } => {
            let token = io.bearer_token().await.map_err(|failure| {
                Error::invalid_argument(
                    config.provider,
                    match failure {
                        TokenFailure::Threw => {
                            "The bearerToken function threw or its promise rejected; nothing was sent. Make it return the current token."
                        }
                        TokenFailure::NotAString => {
                            "The bearerToken function must return a non-empty string (or a Promise of one); nothing was sent."
                        }
                    },
                )
            })?;
            (*scheme, token)
        }
    };
    let mut value = String::with_capacity(scheme.len() + 1 + token.len());
    value.push_str(scheme);
    value.push(' ');
    value.push_str(&token);
    request.set_header("authorization", value);
    Ok(Some(token))
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
pub fn http_error(provider: Provider, response: &Response, subject: Subject<'_>) -> Error {
    let kind = ErrorKind::from_http_status(response.status);
    let details = error_details(provider, response);
    let mut message = String::with_capacity(256);
    message.push_str(provider.display_name());
    message.push_str(" answered HTTP ");
    push_status(&mut message, response.status);
    message.push_str(" for ");
    subject.push_to(&mut message);
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

fn timeout_error(provider: Provider, subject: Subject<'_>, timeout_ms: f64) -> Error {
    let mut message = String::with_capacity(160);
    message.push_str("No answer from ");
    message.push_str(provider.display_name());
    message.push_str(" for ");
    subject.push_to(&mut message);
    message.push_str(" within ");
    push_ms(&mut message, timeout_ms);
    message.push_str(" ms. It may be slow or unreachable: try again, or raise timeoutMs.");
    Error::new(ErrorKind::Timeout, provider, message)
}

fn deadline_error(provider: Provider, call: &Call<'_>, attempts: u32) -> Error {
    let mut message = String::with_capacity(160);
    message.push_str("The deadline for ");
    call.subject.push_to(&mut message);
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
    //! A scripted [`Io`] and [`Env`] on a virtual clock, and an executor that moves the clock
    //! on whenever everything waits for time.

    use super::*;
    use crate::waits::{Registration, WaitKey, Waits};
    use std::cell::{Cell, RefCell};
    use std::collections::VecDeque;
    use std::future::poll_fn;
    use std::pin::pin;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::task::{Context, Poll, Wake, Waker};

    /// Virtual time: now, and the times that pending futures wait for.
    #[derive(Default)]
    pub struct Clock {
        now: Cell<f64>,
        due: RefCell<Vec<f64>>,
    }

    impl Clock {
        pub fn now(&self) -> f64 {
            self.now.get()
        }

        /// Pending until the clock reaches `at`.
        pub async fn until(&self, at: f64) {
            poll_fn(|_| {
                if self.now() >= at {
                    Poll::Ready(())
                } else {
                    self.due.borrow_mut().push(at);
                    Poll::Pending
                }
            })
            .await
        }

        fn wake_at(&self, at: f64) {
            self.due.borrow_mut().push(at);
        }

        /// Moves to the earliest time waited for; false when nothing waits for time.
        fn advance(&self) -> bool {
            let now = self.now();
            let next = self
                .due
                .borrow_mut()
                .drain(..)
                .filter(|t| *t > now)
                .min_by(f64::total_cmp);
            match next {
                Some(t) => {
                    self.now.set(t);
                    true
                }
                None => false,
            }
        }
    }

    struct Flag(AtomicBool);

    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    /// Runs a future that waits for nothing outside itself (no clock).
    pub fn block_on<F: Future>(future: F) -> F::Output {
        run_on(&Clock::default(), future)
    }

    /// Runs `future` to its end: polls again at once after a wake, else moves the clock on.
    pub fn run_on<F: Future>(clock: &Clock, future: F) -> F::Output {
        let mut future = pin!(future);
        let flag = Arc::new(Flag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        loop {
            flag.0.store(false, Ordering::SeqCst);
            if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
                return value;
            }
            if !flag.0.load(Ordering::SeqCst) {
                assert!(clock.advance(), "stuck: everything waits, and not for time");
            }
        }
    }

    /// Runs futures side by side (callers of one client); their outputs in order.
    pub async fn all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
        let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
        let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
        poll_fn(|cx| {
            for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
                if output.is_none() {
                    if let Poll::Ready(value) = future.as_mut().poll(cx) {
                        *output = Some(value);
                    }
                }
            }
            if outputs.iter().all(Option::is_some) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        outputs.into_iter().map(Option::unwrap).collect()
    }

    /// One scripted outcome of a request, and how long it takes on the virtual clock.
    pub enum Step {
        Answer(u16, &'static [(&'static str, &'static str)], &'static str),
        /// No answer: a network failure, in the runtime's words.
        Fail(&'static str),
        Slow(f64, Box<Step>),
        /// Never answers.
        Hang,
        /// Something is pushed to the client's waits once the request is sent.
        Push(Box<Push>, Box<Step>),
    }

    /// What a webhook or `notify()` pushes.
    pub enum Push {
        Status(Box<crate::status::TokenStatus>),
        PollNow(&'static str),
    }

    /// A request as it went out: the request, the headers on the wire, when.
    pub struct Sent {
        pub request: Request,
        pub headers: Vec<(String, String)>,
        pub at: f64,
    }

    /// The client side: answers requests from a script, records everything.
    pub struct FakeIo {
        pub config: ClientConfig,
        pub shared: Shared,
        pub clock: Clock,
        pub script: RefCell<VecDeque<Step>>,
        pub sent: RefCell<Vec<Sent>>,
        /// Requests dropped (aborted) before their answer.
        pub dropped: Cell<usize>,
        pub tokens: RefCell<VecDeque<Result<String, TokenFailure>>>,
        /// `bearerToken` calls, and whether their promise never settles.
        pub token_calls: Cell<usize>,
        pub tokens_hang: Cell<bool>,
        pub minted: RefCell<VecDeque<Result<String, Error>>>,
        /// The client's waits, and how many pushes reached one.
        pub waits: Waits,
        pub reached: Cell<usize>,
        /// Waits served from lists.
        pub served: Cell<usize>,
    }

    impl FakeIo {
        fn push(&self, push: Push) {
            let reached = match push {
                Push::Status(status) => self.waits.notify(status.provider, &status),
                Push::PollNow(method) => self.waits.poll_now(method),
            };
            self.reached.set(self.reached.get() + reached);
        }
    }

    /// Counts a request dropped before it ended.
    struct InFlight<'a>(&'a Cell<usize>, bool);

    impl Drop for InFlight<'_> {
        fn drop(&mut self) {
            if !self.1 {
                self.0.set(self.0.get() + 1);
            }
        }
    }

    impl Io for FakeIo {
        fn config(&self) -> &ClientConfig {
            &self.config
        }

        fn shared(&self) -> &Shared {
            &self.shared
        }

        async fn fetch(&self, request: &Request) -> Result<Response, String> {
            let headers = self
                .config
                .request_headers(&request.headers)
                .into_iter()
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect();
            self.sent.borrow_mut().push(Sent {
                request: request.clone(),
                headers,
                at: self.clock.now(),
            });
            let mut step = self
                .script
                .borrow_mut()
                .pop_front()
                .expect("script ran out");
            let mut in_flight = InFlight(&self.dropped, false);
            let outcome = loop {
                match step {
                    Step::Push(push, inner) => {
                        self.push(*push);
                        step = *inner;
                    }
                    Step::Slow(ms, inner) => {
                        self.clock.until(self.clock.now() + ms).await;
                        step = *inner;
                    }
                    Step::Hang => std::future::pending::<()>().await,
                    Step::Fail(reason) => break Err(reason.to_owned()),
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
            in_flight.1 = true;
            outcome
        }

        async fn bearer_token(&self) -> Result<String, TokenFailure> {
            self.token_calls.set(self.token_calls.get() + 1);
            if self.tokens_hang.get() {
                std::future::pending::<()>().await;
            }
            self.tokens
                .borrow_mut()
                .pop_front()
                .unwrap_or(Ok("jwt-default".to_owned()))
        }

        async fn minted_token(&self) -> Result<String, Error> {
            self.minted
                .borrow_mut()
                .pop_front()
                .unwrap_or(Ok("minted-jwt".to_owned()))
        }

        fn listed(&self, payment_method_id: &str, reply: &Reply) {
            let served = self.waits.serve(payment_method_id, reply);
            self.served.set(self.served.get() + served);
        }
    }

    /// One caller on a [`FakeIo`] (it derefs to it).
    pub struct FakeEnv {
        pub io: Rc<FakeIo>,
        pub epoch_offset: f64,
        pub random: f64,
        /// Aborted once this many requests went out…
        pub abort_after_sends: Cell<Option<usize>>,
        /// …or once the clock reaches this.
        pub abort_at: Cell<Option<f64>>,
        pub slept: RefCell<Vec<f64>>,
        /// The time each wait for an attempt was given.
        pub timeouts: RefCell<Vec<f64>>,
        /// For each sleep in turn: something pushed halfway through it, or nothing.
        pub sleep_pushes: RefCell<VecDeque<Option<Push>>>,
        pub registration: Option<Registration>,
    }

    impl std::ops::Deref for FakeEnv {
        type Target = FakeIo;
        fn deref(&self) -> &FakeIo {
            &self.io
        }
    }

    impl FakeEnv {
        pub fn new(config: ClientConfig, script: Vec<Step>) -> FakeEnv {
            let io = FakeIo {
                config,
                shared: Shared::default(),
                clock: Clock::default(),
                script: RefCell::new(script.into()),
                sent: RefCell::new(Vec::new()),
                dropped: Cell::new(0),
                tokens: RefCell::new(VecDeque::new()),
                token_calls: Cell::new(0),
                tokens_hang: Cell::new(false),
                minted: RefCell::new(VecDeque::new()),
                waits: Waits::default(),
                reached: Cell::new(0),
                served: Cell::new(0),
            };
            FakeEnv::caller(&Rc::new(io))
        }

        /// Another caller of the same client.
        pub fn caller(io: &Rc<FakeIo>) -> FakeEnv {
            FakeEnv {
                io: io.clone(),
                epoch_offset: 1_795_251_600_000.0,
                random: 0.5,
                abort_after_sends: Cell::new(None),
                abort_at: Cell::new(None),
                slept: RefCell::new(Vec::new()),
                timeouts: RefCell::new(Vec::new()),
                sleep_pushes: RefCell::new(VecDeque::new()),
                registration: None,
            }
        }

        /// This env as one wait's, registered on `key` with the client's waits.
        pub fn waiting(mut self, key: WaitKey) -> FakeEnv {
            self.registration = Some(self.io.waits.register(key));
            self
        }

        /// Runs `future` on this client's clock.
        pub fn run<F: Future>(&self, future: F) -> F::Output {
            run_on(&self.io.clock, future)
        }

        /// Sets the mailbox's waker for a suspension of kind `on`; false when something in it
        /// already says to stop.
        fn arm(&self, on: WakeOn, cx: &Context<'_>) -> bool {
            self.mailbox().is_none_or(|m| m.arm(on, cx.waker()))
        }

        fn disarm(&self) {
            if let Some(mailbox) = self.mailbox() {
                mailbox.disarm();
            }
        }

        fn due_to_wake(&self, on: WakeOn) -> bool {
            self.mailbox().is_some_and(|m| m.would_wake(on))
        }
    }

    impl Env for FakeEnv {
        type Io = FakeIo;

        fn io(&self) -> &Rc<FakeIo> {
            &self.io
        }

        async fn within<F: Future>(
            &self,
            future: F,
            timeout_ms: f64,
            wake: WakeOn,
        ) -> Result<F::Output, Transport> {
            self.timeouts.borrow_mut().push(timeout_ms);
            let end = self.clock.now() + timeout_ms;
            let mut future = pin!(future);
            let outcome = poll_fn(|cx| {
                if self.aborted() {
                    return Poll::Ready(Err(Transport::Aborted));
                }
                if !self.arm(wake, cx) {
                    return Poll::Ready(Err(Transport::Interrupted));
                }
                let polled = future.as_mut().poll(cx);
                if self.due_to_wake(wake) {
                    return Poll::Ready(Err(Transport::Interrupted));
                }
                match polled {
                    Poll::Ready(value) => Poll::Ready(Ok(value)),
                    Poll::Pending if self.clock.now() >= end => {
                        Poll::Ready(Err(Transport::Timeout))
                    }
                    Poll::Pending => {
                        if end.is_finite() {
                            self.clock.wake_at(end);
                        }
                        if let Some(at) = self.abort_at.get() {
                            self.clock.wake_at(at);
                        }
                        Poll::Pending
                    }
                }
            })
            .await;
            self.disarm();
            outcome
        }

        async fn sleep(&self, ms: f64, wake: WakeOn) -> Result<(), Transport> {
            self.slept.borrow_mut().push(ms);
            let start = self.clock.now();
            let mut push = self.sleep_pushes.borrow_mut().pop_front().flatten();
            let outcome = poll_fn(|cx| {
                if self.abort_at.get().is_some_and(|at| self.clock.now() >= at) {
                    return Poll::Ready(Err(Transport::Aborted));
                }
                if !self.arm(wake, cx) {
                    return Poll::Ready(Err(Transport::Interrupted));
                }
                if push.is_some() && self.clock.now() >= start + ms / 2.0 {
                    self.io.push(push.take().unwrap());
                    if self.due_to_wake(wake) {
                        return Poll::Ready(Err(Transport::Interrupted));
                    }
                }
                if self.clock.now() >= start + ms {
                    return Poll::Ready(Ok(()));
                }
                self.clock.wake_at(if push.is_some() {
                    start + ms / 2.0
                } else {
                    start + ms
                });
                if let Some(at) = self.abort_at.get() {
                    self.clock.wake_at(at);
                }
                Poll::Pending
            })
            .await;
            self.disarm();
            match outcome {
                Ok(()) if self.aborted() => Err(Transport::Aborted),
                outcome => outcome,
            }
        }

        fn now_ms(&self) -> f64 {
            self.clock.now()
        }

        fn epoch_ms(&self) -> f64 {
            self.epoch_offset + self.clock.now()
        }

        fn random(&self) -> f64 {
            self.random
        }

        fn aborted(&self) -> bool {
            self.abort_after_sends
                .get()
                .is_some_and(|n| self.sent.borrow().len() >= n)
                || self.abort_at.get().is_some_and(|at| self.clock.now() >= at)
        }

        fn mailbox(&self) -> Option<&Mailbox> {
            self.registration.as_ref().map(Registration::mailbox)
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::providers::tokenio;
    use crate::retry::RetryPolicy;
    use crate::share::Gate;
    use crate::status::{TokenState, TokenStatus};

    const ID: &str = "rq:abc:def";
    const PENDING: &str = r#"{"status":"PENDING"}"#;
    const PROCESSED: &str = r#"{"status":"PROCESSED","tokenId":"tt:1"}"#;
    const SUBJECT: Subject<'static> = Subject {
        what: "token request",
        id: ID,
    };

    fn config() -> ClientConfig {
        let mut config = ClientConfig::new(Provider::TokenIo, "http://sim/tokenio".into());
        config.auth = Auth::Static {
            header: "authorization",
            value: "Basic c2VjcmV0LWJhc2ljLXZhbHVl".into(),
            secret: "c2VjcmV0LWJhc2ljLXZhbHVl".into(),
        };
        config
    }

    fn client(script: Vec<Step>) -> FakeEnv {
        FakeEnv::new(config(), script)
    }

    fn client_with(config: ClientConfig, script: Vec<Step>) -> FakeEnv {
        FakeEnv::new(config, script)
    }

    /// One read of `id` on `env`'s client.
    async fn read(
        env: &FakeEnv,
        id: &str,
        timeout_ms: f64,
        deadline: Option<f64>,
    ) -> Result<(TokenStatus, u32), Error> {
        let request = Rc::new(tokenio::result_request(&env.config, id).unwrap());
        let call = Call {
            request: &request,
            subject: Subject {
                what: "token request",
                id,
            },
            timeout_ms,
            deadline_ms: deadline,
            listing: None,
        };
        execute(env, &call, |r| tokenio::parse_result(id, &r.response)).await
    }

    fn run(env: &FakeEnv, deadline: Option<f64>) -> Result<(TokenStatus, u32), Error> {
        env.run(read(env, ID, env.config.timeout_ms, deadline))
    }

    #[test]
    fn success_first_time_with_credential() {
        let env = client(vec![Step::Answer(200, &[], PROCESSED)]);
        let (status, attempts) = run(&env, None).unwrap();
        assert_eq!((status.state, attempts), (TokenState::Succeeded, 1));
        let sent = env.sent.borrow();
        assert_eq!(
            sent[0].headers,
            [(
                "authorization".to_owned(),
                "Basic c2VjcmV0LWJhc2ljLXZhbHVl".to_owned()
            )]
        );
        assert!(
            sent[0].request.headers.is_empty(),
            "a static credential is the I/O seam's to add"
        );
        assert_eq!(*env.timeouts.borrow(), [30_000.0]);
        assert_eq!(env.shared.flights.in_progress(), 0);
    }

    #[test]
    fn retries_with_backoff_then_succeeds() {
        let env = client(vec![
            Step::Answer(503, &[], ""),
            Step::Fail("fetch failed"),
            Step::Answer(200, &[], PENDING),
        ]);
        let (status, attempts) = run(&env, None).unwrap();
        assert_eq!((status.state, attempts), (TokenState::Pending, 3));
        // Equal jitter at random = 0.5: 3/4 of 250 and of 500.
        assert_eq!(*env.slept.borrow(), [187.5, 375.0]);
    }

    #[test]
    fn gives_up_after_max_retries_with_the_last_error() {
        let env = client(vec![
            Step::Answer(500, &[], ""),
            Step::Answer(502, &[], ""),
            Step::Answer(
                429,
                &[("retry-after", "1")],
                r#"{"error":{"errorCode":"RESOURCE_EXHAUSTED","message":"Slow down","tokenTraceId":"tr-9"}}"#,
            ),
        ]);
        let error = run(&env, None).unwrap_err();
        assert_eq!(error.kind, ErrorKind::RateLimited);
        assert_eq!(error.attempts, 3);
        assert_eq!(error.status, Some(429));
        assert_eq!(error.code.as_deref(), Some("RESOURCE_EXHAUSTED"));
        assert_eq!(error.trace_id.as_deref(), Some("tr-9"));
        assert!(error.retryable);
        assert!(error.message.contains("Slow down"), "{}", error.message);
        assert!(
            error.message.contains("token request \"rq:abc:def\""),
            "{}",
            error.message
        );
    }

    #[test]
    fn server_hints_win_and_are_capped() {
        let mut config = config();
        config.retry.max_delay_ms = 5000.0;
        let env = client_with(
            config,
            vec![
                Step::Answer(503, &[("retry-after", "2")], ""),
                Step::Answer(503, &[("retry-after", "3600")], ""),
                Step::Answer(200, &[], PENDING),
            ],
        );
        run(&env, None).unwrap();
        assert_eq!(*env.slept.borrow(), [2000.0, 5000.0]);
    }

    #[test]
    fn permanent_failures_are_not_retried() {
        for status in [400, 401, 403, 404, 405, 409, 422, 501] {
            let env = client(vec![Step::Answer(status, &[], "")]);
            let error = run(&env, None).unwrap_err();
            assert_eq!(error.attempts, 1, "{status}");
            assert!(!error.retryable, "{status}");
            assert!(env.slept.borrow().is_empty());
        }
    }

    #[test]
    fn invalid_bodies_are_not_retried() {
        let env = client(vec![Step::Answer(200, &[], "<html>oops</html>")]);
        let error = run(&env, None).unwrap_err();
        assert_eq!(
            (error.kind, error.attempts, error.retryable),
            (ErrorKind::InvalidResponse, 1, false)
        );
    }

    #[test]
    fn timeouts_are_retried() {
        let env = client(vec![
            Step::Slow(60_000.0, Box::new(Step::Answer(200, &[], PENDING))),
            Step::Answer(200, &[], PENDING),
        ]);
        let (_, attempts) = run(&env, None).unwrap();
        assert_eq!(attempts, 2);
        assert_eq!(env.dropped.get(), 1, "the timed-out request was aborted");
        let env = client(vec![Step::Hang, Step::Hang, Step::Hang]);
        let error = run(&env, None).unwrap_err();
        assert_eq!(
            (error.kind, error.attempts, error.retryable),
            (ErrorKind::Timeout, 3, true)
        );
        assert_eq!(env.clock.now(), 3.0 * 30_000.0 + 187.5 + 375.0);
    }

    #[test]
    fn disabled_retries_send_once() {
        let mut config = config();
        config.retry = RetryPolicy::DISABLED;
        let env = client_with(config, vec![Step::Answer(503, &[], "")]);
        let error = run(&env, None).unwrap_err();
        assert_eq!(
            (error.kind, error.attempts, error.retryable),
            (ErrorKind::ProviderError, 1, true)
        );
    }

    #[test]
    fn posts_are_never_retried() {
        let env = client(vec![Step::Fail("reset")]);
        let mut request = tokenio::result_request(&env.config, ID).unwrap();
        request.method = Method::Post;
        let request = Rc::new(request);
        let call = Call {
            request: &request,
            subject: SUBJECT,
            timeout_ms: 1000.0,
            deadline_ms: None,
            listing: None,
        };
        let error = env.run(execute(&env, &call, |_| Ok(()))).unwrap_err();
        assert_eq!((error.kind, error.attempts), (ErrorKind::Network, 1));
    }

    #[test]
    fn deadlines_bound_attempts_and_delays() {
        // The attempt is cut to what is left of the deadline.
        let env = client(vec![Step::Slow(
            5000.0,
            Box::new(Step::Answer(200, &[], PENDING)),
        )]);
        let error = run(&env, Some(1000.0)).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Timeout);
        assert_eq!(*env.timeouts.borrow(), [1000.0]);
        assert_eq!(env.clock.now(), 1000.0);
        // A retry delay that would pass the deadline is not slept: the error is returned at once.
        let env = client(vec![Step::Answer(503, &[("retry-after", "10")], "")]);
        let error = run(&env, Some(5000.0)).unwrap_err();
        assert_eq!(
            (error.kind, error.status),
            (ErrorKind::ProviderError, Some(503))
        );
        assert!(env.slept.borrow().is_empty());
    }

    #[test]
    fn aborts_stop_everything() {
        let env = client(vec![Step::Answer(503, &[], "")]);
        env.abort_after_sends.set(Some(1));
        let error = run(&env, None).unwrap_err();
        assert_eq!(
            (error.kind, error.attempts, error.retryable),
            (ErrorKind::Aborted, 1, false)
        );
        // An abort during a request ends the call at once and aborts the request.
        let env = client(vec![Step::Hang]);
        env.abort_at.set(Some(40.0));
        let error = run(&env, None).unwrap_err();
        assert_eq!((error.kind, error.attempts), (ErrorKind::Aborted, 1));
        assert_eq!(env.clock.now(), 40.0);
        assert_eq!(env.dropped.get(), 1);
    }

    #[test]
    fn bearer_functions_run_per_attempt_and_are_redacted() {
        let mut config = config();
        config.auth = Auth::Dynamic { scheme: "Bearer" };
        let env = client_with(
            config,
            vec![
                Step::Answer(500, &[], ""),
                Step::Answer(401, &[], r#"{"error":{"message":"token jwt-2 expired"}}"#),
            ],
        );
        env.tokens
            .borrow_mut()
            .extend([Ok("jwt-1".to_owned()), Ok("jwt-2".to_owned())]);
        let error = run(&env, None).unwrap_err();
        let sent = env.sent.borrow();
        assert_eq!(sent[0].headers[0].1, "Bearer jwt-1");
        assert_eq!(sent[1].headers[0].1, "Bearer jwt-2");
        assert_eq!(error.kind, ErrorKind::Unauthorized);
        assert!(
            error.message.contains("token [redacted] expired"),
            "{}",
            error.message
        );
    }

    #[test]
    fn minted_tokens_go_per_attempt_as_lower_case_bearer_and_are_redacted() {
        let mut config = config();
        config.auth = Auth::Minted;
        let env = client_with(
            config,
            vec![
                Step::Answer(503, &[], ""),
                Step::Answer(
                    401,
                    &[],
                    r#"{"error":{"message":"jwt ey.minted.2 rejected"}}"#,
                ),
            ],
        );
        env.minted
            .borrow_mut()
            .extend([Ok("ey.minted.1".to_owned()), Ok("ey.minted.2".to_owned())]);
        let error = run(&env, None).unwrap_err();
        let sent = env.sent.borrow();
        assert_eq!(sent[0].headers[0].1, "bearer ey.minted.1");
        assert_eq!(sent[1].headers[0].1, "bearer ey.minted.2");
        assert!(
            error.message.contains("jwt [redacted] rejected"),
            "{}",
            error.message
        );
    }

    #[test]
    fn a_token_that_cannot_be_minted_sends_nothing() {
        let mut config = config();
        config.auth = Auth::Minted;
        let env = client_with(config, vec![]);
        env.minted
            .borrow_mut()
            .push_back(Err(Error::invalid_argument(
                Provider::Gr4vy,
                "This runtime cannot sign ECDSA P-521.",
            )));
        let error = run(&env, None).unwrap_err();
        assert_eq!(
            (error.kind, error.attempts),
            (ErrorKind::InvalidArgument, 0)
        );
        assert!(env.sent.borrow().is_empty());
    }

    #[test]
    fn failing_bearer_functions_send_nothing() {
        let dynamic = || {
            let mut config = config();
            config.auth = Auth::Dynamic { scheme: "Bearer" };
            config
        };
        for failure in [TokenFailure::Threw, TokenFailure::NotAString] {
            let env = client_with(dynamic(), vec![]);
            env.tokens.borrow_mut().push_back(Err(failure));
            let error = run(&env, None).unwrap_err();
            assert_eq!(
                (error.kind, error.attempts),
                (ErrorKind::InvalidArgument, 0)
            );
            assert!(env.sent.borrow().is_empty());
        }
        // A token that never comes: the attempt's time bounds it, nothing is sent or retried.
        let env = client_with(dynamic(), vec![]);
        env.tokens_hang.set(true);
        let error = run(&env, None).unwrap_err();
        assert_eq!((error.kind, error.attempts), (ErrorKind::Timeout, 0));
        assert!(error.message.contains("bearerToken"), "{}", error.message);
        assert_eq!(env.clock.now(), 30_000.0);
        // The caller's signal ends the wait for it.
        let env = client_with(dynamic(), vec![]);
        env.tokens_hang.set(true);
        env.abort_at.set(Some(50.0));
        let error = run(&env, None).unwrap_err();
        assert_eq!((error.kind, error.attempts), (ErrorKind::Aborted, 0));
        assert!(env.sent.borrow().is_empty());
    }

    #[test]
    fn static_secrets_echoed_by_the_provider_are_redacted() {
        let env = client(vec![Step::Answer(
            403,
            &[],
            r#"{"error":{"errorCode":"PermissionDenied","message":"key c2VjcmV0LWJhc2ljLXZhbHVl is not allowed","tokenTraceId":"t"}}"#,
        )]);
        let error = run(&env, None).unwrap_err();
        assert!(!error.message.contains("c2VjcmV0"), "{}", error.message);
        assert_eq!(error.code.as_deref(), Some("PermissionDenied"));
    }

    #[test]
    fn external_errors_are_flagged() {
        let mut config = config();
        config.retry = RetryPolicy::DISABLED;
        let env = client_with(
            config,
            vec![Step::Answer(
                503,
                &[("token-external-error", "true")],
                r#"{"error":{"errorCode":"UNAVAILABLE","message":"Bank down"}}"#,
            )],
        );
        let error = run(&env, None).unwrap_err();
        assert!(error.external);
        assert!(error.retryable);
    }

    // -----------------------------------------------------------------------------------------
    // Identical reads in flight share one attempt

    /// `n` callers of `env`'s client, each with its own signal and timeout settings.
    fn callers(env: &FakeEnv, n: usize) -> Vec<FakeEnv> {
        (0..n).map(|_| FakeEnv::caller(&env.io)).collect()
    }

    #[test]
    fn identical_concurrent_reads_send_one_request_and_each_caller_gets_its_own_copy() {
        let env = client(vec![Step::Slow(
            20.0,
            Box::new(Step::Answer(200, &[], PROCESSED)),
        )]);
        let callers = callers(&env, 5);
        let results = env.run(all(callers
            .iter()
            .map(|c| read(c, ID, 30_000.0, None))
            .collect()));
        assert_eq!(env.sent.borrow().len(), 1, "one request for five callers");
        for result in results {
            let (status, attempts) = result.unwrap();
            assert_eq!((status.state, attempts), (TokenState::Succeeded, 1));
            assert_eq!(status.token.as_deref(), Some("tt:1"));
        }
        assert_eq!(env.shared.flights.in_progress(), 0);
        // Once answered, the next read sends its own request.
        env.script
            .borrow_mut()
            .push_back(Step::Answer(200, &[], PENDING));
        let (status, _) = run(&env, None).unwrap();
        assert_eq!(status.state, TokenState::Pending);
        assert_eq!(env.sent.borrow().len(), 2);
    }

    #[test]
    fn different_ids_never_share() {
        let env = client(vec![
            Step::Slow(10.0, Box::new(Step::Answer(200, &[], PENDING))),
            Step::Slow(10.0, Box::new(Step::Answer(200, &[], PENDING))),
        ]);
        let callers = callers(&env, 2);
        let results = env.run(all(vec![
            read(&callers[0], "rq:a:1", 30_000.0, None),
            read(&callers[1], "rq:b:2", 30_000.0, None),
        ]));
        assert_eq!(env.sent.borrow().len(), 2);
        assert_eq!(results[0].as_ref().unwrap().0.id, "rq:a:1");
        assert_eq!(results[1].as_ref().unwrap().0.id, "rq:b:2");
    }

    #[test]
    fn one_caller_aborting_or_timing_out_never_fails_the_others() {
        let env = client(vec![Step::Slow(
            500.0,
            Box::new(Step::Answer(200, &[], PROCESSED)),
        )]);
        let callers = callers(&env, 3);
        callers[0].abort_at.set(Some(100.0));
        let results = env.run(all(vec![
            Box::pin(read(&callers[0], ID, 30_000.0, None)),
            // Its own shorter timeout, and retries off: one timeout error.
            Box::pin(read(&callers[1], ID, 200.0, Some(200.0))),
            Box::pin(read(&callers[2], ID, 30_000.0, None)),
        ]));
        let aborted = results[0].as_ref().unwrap_err();
        assert_eq!((aborted.kind, aborted.attempts), (ErrorKind::Aborted, 1));
        let timed_out = results[1].as_ref().unwrap_err();
        assert_eq!(
            (timed_out.kind, timed_out.attempts),
            (ErrorKind::Timeout, 1)
        );
        let (status, attempts) = results[2].as_ref().unwrap();
        assert_eq!((status.state, *attempts), (TokenState::Succeeded, 1));
        assert_eq!(env.sent.borrow().len(), 1);
        assert_eq!(env.dropped.get(), 0, "the request was not aborted");
        assert_eq!(env.clock.now(), 500.0);
    }

    #[test]
    fn the_shared_request_is_aborted_when_every_caller_has_gone() {
        let env = client(vec![Step::Hang]);
        let callers = callers(&env, 3);
        for (i, caller) in callers.iter().enumerate() {
            caller.abort_at.set(Some(100.0 * (i + 1) as f64));
        }
        let results = env.run(all(callers
            .iter()
            .map(|c| read(c, ID, 30_000.0, None))
            .collect()));
        assert!(
            results
                .iter()
                .all(|r| r.as_ref().unwrap_err().kind == ErrorKind::Aborted)
        );
        assert_eq!(env.dropped.get(), 1, "aborted with its last caller");
        assert_eq!(env.clock.now(), 300.0);
        assert_eq!(env.shared.flights.in_progress(), 0);
    }

    #[test]
    fn a_late_joiner_shares_the_request_in_flight_and_counts_it() {
        let env = client(vec![
            Step::Slow(300.0, Box::new(Step::Answer(503, &[], ""))),
            Step::Slow(10.0, Box::new(Step::Answer(200, &[], PROCESSED))),
        ]);
        let callers = callers(&env, 2);
        let late = async {
            callers[1].clock.until(100.0).await;
            read(&callers[1], ID, 30_000.0, None).await
        };
        let results = env.run(all(vec![
            Box::pin(read(&callers[0], ID, 30_000.0, None))
                as std::pin::Pin<Box<dyn Future<Output = _>>>,
            Box::pin(late),
        ]));
        // Both shared the 503 and both retried after the same delay: their retries shared too.
        assert_eq!(env.sent.borrow().len(), 2);
        for result in results {
            assert_eq!(result.unwrap().1, 2, "attempts: the requests it shared in");
        }
    }

    #[test]
    fn a_bearer_function_is_consulted_once_per_request_sent() {
        let mut config = config();
        config.auth = Auth::Dynamic { scheme: "Bearer" };
        let env = client_with(
            config,
            vec![Step::Slow(10.0, Box::new(Step::Answer(200, &[], PENDING)))],
        );
        let callers = callers(&env, 4);
        let results = env.run(all(callers
            .iter()
            .map(|c| read(c, ID, 30_000.0, None))
            .collect()));
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(env.token_calls.get(), 1);
        assert_eq!(env.sent.borrow()[0].headers[0].1, "Bearer jwt-default");
    }

    /// A client with two places in flight, four callers, four 100 ms answers.
    fn four_callers_two_places() -> (FakeEnv, Vec<FakeEnv>) {
        let mut env = client(
            (0..4)
                .map(|_| Step::Slow(100.0, Box::new(Step::Answer(200, &[], PENDING))))
                .collect(),
        );
        Rc::get_mut(&mut env.io).unwrap().shared.gate = Gate::new(2);
        let callers = callers(&env, 4);
        (env, callers)
    }

    #[test]
    fn a_client_sends_at_most_its_limit_at_once() {
        let (env, callers) = four_callers_two_places();
        let ids = ["rq:1:a", "rq:2:b", "rq:3:c", "rq:4:d"];
        // Each attempt may take 150 ms: the time waiting for a place does not count.
        let results = env.run(all(callers
            .iter()
            .zip(ids)
            .map(|(c, id)| read(c, id, 150.0, None))
            .collect()));
        let at: Vec<f64> = env.sent.borrow().iter().map(|s| s.at).collect();
        assert_eq!(at, [0.0, 0.0, 100.0, 100.0], "two at a time");
        assert!(results.iter().all(Result::is_ok));
        assert_eq!(env.clock.now(), 200.0);
        assert_eq!(env.shared.gate.in_use(), 0);
    }

    #[test]
    fn the_deadline_bounds_the_time_in_the_queue() {
        let (env, callers) = four_callers_two_places();
        let ids = ["rq:1:a", "rq:2:b", "rq:3:c", "rq:4:d"];
        let results = env.run(all(callers
            .iter()
            .zip(ids)
            .map(|(c, id)| read(c, id, 150.0, Some(150.0)))
            .collect()));
        assert!(results[0].is_ok() && results[1].is_ok());
        // The others had a place at 100 ms: 50 ms of their deadline left, and they ran out.
        for result in &results[2..] {
            let error = result.as_ref().unwrap_err();
            assert_eq!((error.kind, error.attempts), (ErrorKind::Timeout, 1));
            assert!(error.message.contains("deadline"), "{}", error.message);
        }
        assert_eq!(env.shared.gate.in_use(), 0);
    }

    #[test]
    fn a_call_that_gives_up_in_the_queue_sends_nothing() {
        let mut env = client(vec![Step::Hang]);
        Rc::get_mut(&mut env.io).unwrap().shared.gate = Gate::new(1);
        let callers = callers(&env, 2);
        callers[0].abort_at.set(Some(500.0));
        let results = env.run(all(vec![
            read(&callers[0], "rq:1:a", 30_000.0, None),
            read(&callers[1], "rq:2:b", 30_000.0, Some(100.0)),
        ]));
        let queued = results[1].as_ref().unwrap_err();
        assert_eq!((queued.kind, queued.attempts), (ErrorKind::Timeout, 0));
        assert_eq!(
            env.sent.borrow().len(),
            1,
            "the queued request never went out"
        );
        assert_eq!(results[0].as_ref().unwrap_err().kind, ErrorKind::Aborted);
        assert_eq!(
            (env.shared.gate.in_use(), env.shared.gate.waiting()),
            (0, 0)
        );
    }
}
