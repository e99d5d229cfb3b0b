//! Waiting for a final status, decided without I/O: poll, report changes, back off politely
//! (growing intervals with jitter, the provider's `Retry-After` honoured), ride out transient
//! failures until the deadline, and stop at once on permanent ones or an abort. Timers come
//! from the [`Env`] (in `fetch.rs`: one timer queue for the whole module).

use crate::call::{Call, Env, Io, Transport, WakeOn, execute};
use crate::error::{Error, ErrorKind};
use crate::retry::backoff_ms;
use crate::share::Reply;
use crate::status::{Provider, TokenStatus};
use crate::text::{push_ms, push_u32};
use crate::waits::Mailbox;
use alloc::boxed::Box;
use alloc::string::String;

/// How long and how often to poll.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WaitPolicy {
    /// The whole wait, in ms (default 600 000).
    pub deadline_ms: f64,
    /// The first delay between polls, before jitter (default 1 000).
    pub interval_ms: f64,
    /// The longest delay between polls (default 15 000).
    pub max_interval_ms: f64,
}

impl Default for WaitPolicy {
    fn default() -> Self {
        WaitPolicy {
            deadline_ms: 600_000.0,
            interval_ms: 1_000.0,
            max_interval_ms: 15_000.0,
        }
    }
}

impl WaitPolicy {
    /// The delay after poll number `poll` (1-based): equal-jitter backoff from `interval_ms`
    /// to `max_interval_ms`, or the provider's requested delay when it is longer.
    pub fn delay_ms(&self, poll: u32, random: f64, server_hint_ms: Option<f64>) -> f64 {
        let delay = backoff_ms(self.interval_ms, self.max_interval_ms, poll, random);
        match server_hint_ms {
            Some(hint) if hint > delay => hint,
            _ => delay,
        }
    }
}

/// Polls `call` until its status is terminal. `on_update` sees the first status and every
/// later one whose state or provider status differs from the previous one. `call.deadline_ms`
/// becomes the wait's deadline (the policy's, or the call's when that comes first), which
/// bounds every poll: the wait borrows the caller's call rather than keeping a copy.
///
/// Resolves with the terminal status (`succeeded`, `failed` or `expired` alike). Rejects at once
/// on an abort or a non-retryable failure; at the deadline with kind `timeout`, `retryable`,
/// the last status and the last failure as `cause`. `attempts` counts every request sent.
///
/// Between polls, a status served from another call's list of the same Gr4vy payment method
/// counts as a poll: it is taken in, and the sleep starts over — for the whole next interval,
/// so that the waits that poll for themselves (with jitter) come first and serve it again:
/// waits on several tokens of one payment method then poll at the pace of one wait, with about
/// one list request per round between them.
///
/// A plain function returning an `async move` block, not an `async fn`: the block's state,
/// kept through the whole wait, then holds the arguments once rather than twice.
#[allow(clippy::manual_async_fn)] // an `async fn` would keep its arguments twice
pub fn wait<'f, E: Env>(
    env: &'f E,
    call: &'f mut Call<'_>,
    policy: &'f WaitPolicy,
    parse: impl Fn(&Reply) -> Result<TokenStatus, Error> + 'f,
    mut on_update: impl FnMut(&TokenStatus) + 'f,
) -> impl Future<Output = Result<TokenStatus, Error>> + 'f {
    async move {
        // The wait's own deadline, or the call's if that comes first; every poll is bound by it.
        let deadline = {
            let own = env.now_ms() + policy.deadline_ms;
            call.deadline_ms.map_or(own, |d| d.min(own))
        };
        call.deadline_ms = Some(deadline);
        // The caller's call, not a copy: the wait's state, kept through every sleep, stays small.
        let call = &*call;
        let mut last_status: Option<Box<TokenStatus>> = None;
        let mut last_error: Option<Box<Error>> = None;
        let mut attempts: u32 = 0;
        let mut poll: u32 = 0;
        let mailbox = env.mailbox();
        loop {
            poll += 1;
            // Boxed: the poll's state exists only while it runs, not through the sleeps; and what
            // the poll gave (and the hint it left) is taken in before the sleep, so that the sleep
            // holds neither.
            let (hint, poll_again) = {
                let outcome = Box::pin(execute(env, call, &parse)).await;
                let mut hint = None;
                // What a webhook or notify() pushed meanwhile is newer than this poll, and so is
                // a "poll now" (the payment method changed, maybe after this poll's request was
                // sent): an answered poll is followed by another at once rather than a sleep. A
                // status served from another call's list during the poll is no newer than it.
                let pushed = mailbox.and_then(Mailbox::take_status);
                let poll_now = mailbox.is_some_and(Mailbox::take_poll_now);
                let _ = mailbox.and_then(Mailbox::take_served);
                let answered = outcome.is_ok();
                let cut_short = pushed.as_ref().is_some_and(TokenStatus::terminal);
                match outcome {
                    Ok((status, sent)) => {
                        attempts += sent;
                        if let Some(done) = absorb(status, &mut last_status, &mut on_update) {
                            return Ok(done);
                        }
                        last_error = None;
                    }
                    // Cut short (or failed) while a terminal status arrived: that status decides.
                    Err(error) if cut_short => attempts += error.attempts,
                    Err(mut error) => {
                        attempts += error.attempts;
                        error.attempts = attempts;
                        let ran_out = error.kind == ErrorKind::Timeout && env.now_ms() >= deadline;
                        if error.kind == ErrorKind::Aborted || (!error.retryable && !ran_out) {
                            error.last_status = last_status;
                            return Err(error);
                        }
                        hint = error.retry_after_ms;
                        // A poll cut short by the deadline is not a failure of the provider's.
                        if !(ran_out && error.status.is_none()) {
                            last_error = Some(Box::new(error));
                        }
                    }
                }
                if let Some(status) = pushed {
                    if let Some(done) = absorb(status, &mut last_status, &mut on_update) {
                        return Ok(done);
                    }
                }
                // After a failure, the usual retry delay (and a Retry-After) still applies.
                (hint, poll_now && answered)
            };
            let now = env.now_ms();
            let left = deadline - now;
            if left > 0.0 && !poll_again {
                let mut until = now + policy.delay_ms(poll, env.random(), hint).min(left);
                // A push wakes the sleep: a terminal status ends the wait, another is reported and
                // the sleep goes on, a "poll now" ends the sleep, a served status is a poll.
                loop {
                    let remaining = until - env.now_ms();
                    if remaining <= 0.0 {
                        break;
                    }
                    match env.sleep(remaining, WakeOn::Anything).await {
                        Ok(()) => break,
                        Err(Transport::Interrupted) => {
                            if let Some(status) = mailbox.and_then(Mailbox::take_status) {
                                if let Some(done) = absorb(status, &mut last_status, &mut on_update)
                                {
                                    return Ok(done);
                                }
                            }
                            if let Some(status) = mailbox.and_then(Mailbox::take_served) {
                                poll += 1;
                                last_error = None;
                                if let Some(done) = absorb(status, &mut last_status, &mut on_update)
                                {
                                    return Ok(done);
                                }
                                // The whole interval, without jitter: the waits that polled for
                                // themselves (with theirs) poll first, and keep serving this one.
                                let left = deadline - env.now_ms();
                                until = env.now_ms()
                                    + policy.delay_ms(poll, 1.0, None).min(left.max(0.0));
                            }
                            if mailbox.is_some_and(Mailbox::take_poll_now) {
                                break;
                            }
                        }
                        Err(_) => {
                            let mut error = Error::new(
                                ErrorKind::Aborted,
                                env.io().config().provider,
                                "The wait was aborted by its AbortSignal; nothing more was sent.",
                            );
                            error.attempts = attempts;
                            error.last_status = last_status;
                            return Err(error);
                        }
                    }
                }
            }
            if env.now_ms() >= deadline {
                return Err(ran_out(
                    env.io().config().provider,
                    call,
                    policy,
                    poll,
                    attempts,
                    last_status,
                    last_error,
                ));
            }
        }
    }
}

/// Takes in a status the wait learned (by polling, pushed or served to it): reports it when it
/// changed, and returns it when it is terminal; otherwise it becomes the last status.
fn absorb(
    status: TokenStatus,
    last_status: &mut Option<Box<TokenStatus>>,
    on_update: &mut impl FnMut(&TokenStatus),
) -> Option<TokenStatus> {
    if last_status
        .as_deref()
        .is_none_or(|last| status.changed_from(last))
    {
        on_update(&status);
    }
    if status.terminal() {
        return Some(status);
    }
    *last_status = Some(Box::new(status));
    None
}

/// The error of a wait that reached its deadline.
fn ran_out(
    provider: Provider,
    call: &Call<'_>,
    policy: &WaitPolicy,
    polls: u32,
    attempts: u32,
    last_status: Option<Box<TokenStatus>>,
    last_error: Option<Box<Error>>,
) -> Error {
    let mut message = String::with_capacity(240);
    message.push_str("Gave up waiting for ");
    call.subject.push_to(&mut message);
    message.push_str(" after ");
    push_ms(&mut message, policy.deadline_ms);
    message.push_str(" ms (");
    push_u32(&mut message, polls);
    message.push_str(if polls == 1 { " poll" } else { " polls" });
    message.push_str("): ");
    match (&last_status, &last_error) {
        (_, Some(error)) => {
            message.push_str("the last poll failed (");
            message.push_str(error.kind.as_str());
            message.push_str(", see cause).");
        }
        (Some(status), None) => {
            message.push_str("it is still ");
            message.push_str(status.state.as_str());
            message.push('.');
        }
        (None, None) => message.push_str("no status was obtained."),
    }
    message.push_str(" Wait longer (deadlineMs), or check on it later.");
    let mut error = Error::new(ErrorKind::Timeout, provider, message);
    error.retryable = true;
    error.attempts = attempts;
    error.last_status = last_status;
    error.cause = last_error;
    error
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::call::Subject;
    use crate::call::testing::*;
    use crate::config::{Auth, ClientConfig};
    use crate::http::Response;
    use crate::providers::tokenio;
    use crate::retry::RetryPolicy;
    use crate::status::{Provider, TokenState};
    use crate::waits::WaitKey;
    use std::cell::RefCell;

    const ID: &str = "rq:w:1";
    const PENDING: &str = r#"{"status":"PENDING"}"#;
    const ON_HOLD: &str = r#"{"status":"ON_HOLD"}"#;
    const PROCESSED: &str = r#"{"status":"PROCESSED","tokenId":"tt:1"}"#;
    const REJECTED: &str = r#"{"status":"REJECTED","statusReasonInformation":"no"}"#;

    fn config() -> ClientConfig {
        let mut config = ClientConfig::new(Provider::TokenIo, "http://sim".into());
        config.auth = Auth::Static {
            header: "authorization",
            value: "Basic abcd1234".into(),
            secret: "abcd1234".into(),
        };
        config.retry = RetryPolicy {
            max_retries: 1,
            initial_delay_ms: 100.0,
            max_delay_ms: 1000.0,
        };
        config
    }

    fn policy(deadline_ms: f64) -> WaitPolicy {
        WaitPolicy {
            deadline_ms,
            interval_ms: 1000.0,
            max_interval_ms: 4000.0,
        }
    }

    fn run(
        env: &FakeEnv,
        policy: &WaitPolicy,
        updates: &RefCell<Vec<String>>,
    ) -> Result<TokenStatus, Error> {
        let request = std::rc::Rc::new(tokenio::result_request(&env.config, ID).unwrap());
        let mut call = Call {
            request: &request,
            subject: Subject {
                what: "token request",
                id: ID,
            },
            timeout_ms: 30_000.0,
            deadline_ms: None,
            listing: None,
        };
        env.run(wait(
            env,
            &mut call,
            policy,
            |r| tokenio::parse_result(ID, &r.response),
            |s| {
                updates
                    .borrow_mut()
                    .push(s.provider_status.clone().unwrap_or_default())
            },
        ))
    }

    #[test]
    fn the_wait_sets_the_callers_deadline_to_the_earlier_one() {
        for (own, policy_ms, expected) in [
            (Some(2_000.0), 600_000.0, 2_000.0),
            (None, 2_500.0, 2_500.0),
        ] {
            let env = FakeEnv::new(
                config(),
                vec![
                    Step::Answer(200, &[], PENDING),
                    Step::Answer(200, &[], PENDING),
                    Step::Answer(200, &[], PENDING),
                    Step::Answer(200, &[], PENDING),
                ],
            );
            let start = env.now_ms();
            let request = std::rc::Rc::new(tokenio::result_request(&env.config, ID).unwrap());
            let mut call = Call {
                request: &request,
                subject: Subject {
                    what: "token request",
                    id: ID,
                },
                timeout_ms: 30_000.0,
                deadline_ms: own.map(|ms| start + ms),
                listing: None,
            };
            let error = env
                .run(wait(
                    &env,
                    &mut call,
                    &policy(policy_ms),
                    |r| tokenio::parse_result(ID, &r.response),
                    |_| {},
                ))
                .unwrap_err();
            assert_eq!(error.kind, ErrorKind::Timeout);
            assert_eq!(call.deadline_ms, Some(start + expected));
            // Polled at 0 and 750 ms, then slept to the deadline: nothing past it.
            assert_eq!(env.now_ms(), start + expected);
        }
    }

    #[test]
    fn polls_until_terminal_and_reports_only_changes() {
        let env = FakeEnv::new(
            config(),
            vec![
                Step::Answer(200, &[], PENDING),
                Step::Answer(200, &[], PENDING),
                Step::Answer(200, &[], ON_HOLD),
                Step::Answer(200, &[], PENDING),
                Step::Answer(200, &[], PROCESSED),
            ],
        );
        let updates = RefCell::new(Vec::new());
        let status = run(&env, &policy(600_000.0), &updates).unwrap();
        assert_eq!(status.state, TokenState::Succeeded);
        assert_eq!(
            *updates.borrow(),
            ["PENDING", "ON_HOLD", "PENDING", "PROCESSED"]
        );
        // Equal jitter at 0.5 from 1000 ms, doubling, capped at 4000 ms.
        assert_eq!(*env.slept.borrow(), [750.0, 1500.0, 3000.0, 3000.0]);
    }

    #[test]
    fn failed_and_expired_resolve() {
        let env = FakeEnv::new(config(), vec![Step::Answer(200, &[], REJECTED)]);
        let updates = RefCell::new(Vec::new());
        let status = run(&env, &policy(10_000.0), &updates).unwrap();
        assert_eq!(status.state, TokenState::Failed);
        assert_eq!(status.reason.as_deref(), Some("no"));
    }

    #[test]
    fn deadline_rejects_with_the_last_status() {
        let env = FakeEnv::new(
            config(),
            (0..20).map(|_| Step::Answer(200, &[], PENDING)).collect(),
        );
        let updates = RefCell::new(Vec::new());
        let error = run(&env, &policy(5000.0), &updates).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Timeout);
        assert!(error.retryable);
        assert_eq!(error.last_status.unwrap().state, TokenState::Pending);
        assert!(error.cause.is_none());
        // 750 + 1500 + 2750 (cut to the deadline): three polls, three requests.
        assert_eq!(env.sent.borrow().len(), 3);
        assert_eq!(error.attempts, 3);
        assert_eq!(env.clock.now(), 5000.0);
        assert_eq!(updates.borrow().len(), 1);
    }

    #[test]
    fn transient_failures_do_not_end_the_wait() {
        let env = FakeEnv::new(
            config(),
            vec![
                Step::Answer(503, &[], ""),
                Step::Answer(503, &[], ""),
                Step::Fail("reset"),
                Step::Fail("reset"),
                Step::Answer(200, &[], PROCESSED),
            ],
        );
        let updates = RefCell::new(Vec::new());
        let status = run(&env, &policy(60_000.0), &updates).unwrap();
        assert_eq!(status.state, TokenState::Succeeded);
        assert_eq!(env.sent.borrow().len(), 5);
    }

    #[test]
    fn deadline_after_failures_carries_the_last_failure() {
        let env = FakeEnv::new(
            config(),
            (0..20)
                .map(|_| {
                    Step::Answer(
                        503,
                        &[],
                        r#"{"error":{"errorCode":"UNAVAILABLE","message":"down"}}"#,
                    )
                })
                .collect(),
        );
        let updates = RefCell::new(Vec::new());
        let error = run(&env, &policy(3000.0), &updates).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Timeout);
        assert!(error.last_status.is_none());
        let cause = error.cause.unwrap();
        assert_eq!(
            (cause.kind, cause.status),
            (ErrorKind::ProviderError, Some(503))
        );
        assert!(error.message.contains("no status") || error.message.contains("last poll failed"));
    }

    #[test]
    fn permanent_failures_end_the_wait_at_once() {
        for status in [400, 401, 403, 404, 405, 422, 501] {
            let env = FakeEnv::new(
                config(),
                vec![
                    Step::Answer(200, &[], PENDING),
                    Step::Answer(status, &[], ""),
                ],
            );
            let updates = RefCell::new(Vec::new());
            let error = run(&env, &policy(60_000.0), &updates).unwrap_err();
            assert_eq!(error.status, Some(status));
            assert_eq!(error.attempts, 2, "{status}");
            assert_eq!(error.last_status.unwrap().state, TokenState::Pending);
        }
    }

    #[test]
    fn retry_after_stretches_the_poll_interval() {
        let env = FakeEnv::new(
            config(),
            vec![
                Step::Answer(429, &[("retry-after", "9")], ""),
                Step::Answer(429, &[("retry-after", "9")], ""),
                Step::Answer(200, &[], PROCESSED),
            ],
        );
        let updates = RefCell::new(Vec::new());
        run(&env, &policy(60_000.0), &updates).unwrap();
        // In-call retry capped by maxDelayMs (1000), then the poll waits the full 9 s.
        assert_eq!(*env.slept.borrow(), [1000.0, 9000.0]);
    }

    #[test]
    fn the_deadline_bounds_an_attempt_in_flight() {
        let env = FakeEnv::new(
            config(),
            vec![Step::Slow(
                60_000.0,
                Box::new(Step::Answer(200, &[], PENDING)),
            )],
        );
        let updates = RefCell::new(Vec::new());
        let error = run(&env, &policy(2000.0), &updates).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Timeout);
        assert_eq!(env.timeouts.borrow()[0], 2000.0);
        assert_eq!(env.clock.now(), 2000.0);
        assert!(error.cause.is_none());
    }

    #[test]
    fn aborts_end_the_wait_with_the_last_status() {
        let env = FakeEnv::new(
            config(),
            vec![
                Step::Answer(200, &[], PENDING),
                Step::Answer(200, &[], PENDING),
            ],
        );
        env.abort_after_sends.set(Some(1));
        let updates = RefCell::new(Vec::new());
        let error = run(&env, &policy(60_000.0), &updates).unwrap_err();
        assert_eq!(
            (error.kind, error.attempts, error.retryable),
            (ErrorKind::Aborted, 1, false)
        );
        assert_eq!(error.last_status.unwrap().state, TokenState::Pending);
        assert_eq!(env.sent.borrow().len(), 1);
    }

    #[test]
    fn unknown_is_not_terminal() {
        let env = FakeEnv::new(
            config(),
            vec![
                Step::Answer(200, &[], ON_HOLD),
                Step::Answer(200, &[], ON_HOLD),
                Step::Answer(200, &[], PROCESSED),
            ],
        );
        let updates = RefCell::new(Vec::new());
        let status = run(&env, &policy(60_000.0), &updates).unwrap();
        assert_eq!(status.state, TokenState::Succeeded);
        assert_eq!(*updates.borrow(), ["ON_HOLD", "PROCESSED"]);
    }

    // -----------------------------------------------------------------------------------------
    // Statuses pushed by webhooks or notify()

    fn pushed(body: &'static str) -> Push {
        let response = Response {
            status: 200,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
            truncated: false,
        };
        Push::Status(Box::new(tokenio::parse_result(ID, &response).unwrap()))
    }

    fn waiting(script: Vec<Step>) -> FakeEnv {
        FakeEnv::new(config(), script).waiting(WaitKey {
            id: ID.into(),
            payment_method_id: None,
        })
    }

    /// A wait on a token of payment method "pm", whose first poll is answered `first` while a
    /// "poll now" for "pm" arrives, and whose second poll is answered `PROCESSED`.
    fn poll_now_during(first: Step) -> FakeEnv {
        let script = vec![
            Step::Push(Box::new(Push::PollNow("pm")), Box::new(first)),
            Step::Answer(200, &[], PROCESSED),
        ];
        FakeEnv::new(config(), script).waiting(WaitKey {
            id: ID.into(),
            payment_method_id: Some("pm".into()),
        })
    }

    #[test]
    fn a_terminal_status_cuts_an_in_flight_poll_short() {
        let env = waiting(vec![
            Step::Answer(200, &[], PENDING),
            Step::Push(
                Box::new(pushed(PROCESSED)),
                Box::new(Step::Slow(
                    20_000.0,
                    Box::new(Step::Answer(200, &[], PENDING)),
                )),
            ),
        ]);
        let updates = RefCell::new(Vec::new());
        let status = run(&env, &policy(600_000.0), &updates).unwrap();
        assert_eq!(status.token.as_deref(), Some("tt:1"));
        assert_eq!(*updates.borrow(), ["PENDING", "PROCESSED"]);
        assert_eq!(env.reached.get(), 1);
        // Resolved when the push came, not when the slow answer would have.
        assert_eq!(env.clock.now(), 750.0);
    }

    #[test]
    fn a_terminal_status_ends_the_sleep_at_once() {
        let env = waiting(vec![Step::Answer(200, &[], PENDING)]);
        env.sleep_pushes
            .borrow_mut()
            .push_back(Some(pushed(REJECTED)));
        let updates = RefCell::new(Vec::new());
        let status = run(&env, &policy(600_000.0), &updates).unwrap();
        assert_eq!(status.state, TokenState::Failed);
        assert_eq!(*updates.borrow(), ["PENDING", "REJECTED"]);
        assert_eq!(env.sent.borrow().len(), 1, "no poll after the push");
        assert_eq!(
            env.clock.now(),
            375.0,
            "halfway through the first 750 ms sleep"
        );
    }

    #[test]
    fn a_terminal_status_ends_a_retry_delay() {
        let env = waiting(vec![Step::Answer(503, &[], "")]);
        env.sleep_pushes
            .borrow_mut()
            .push_back(Some(pushed(PROCESSED)));
        let updates = RefCell::new(Vec::new());
        let status = run(&env, &policy(600_000.0), &updates).unwrap();
        assert_eq!(status.state, TokenState::Succeeded);
        assert_eq!(env.sent.borrow().len(), 1);
    }

    #[test]
    fn other_statuses_are_reported_and_the_schedule_holds() {
        let env = waiting(vec![
            Step::Answer(200, &[], PENDING),
            Step::Answer(200, &[], PENDING),
            Step::Answer(200, &[], PROCESSED),
        ]);
        env.sleep_pushes
            .borrow_mut()
            .push_back(Some(pushed(ON_HOLD)));
        let updates = RefCell::new(Vec::new());
        run(&env, &policy(600_000.0), &updates).unwrap();
        // Reported at once, then polling reports the change back to PENDING.
        assert_eq!(
            *updates.borrow(),
            ["PENDING", "ON_HOLD", "PENDING", "PROCESSED"]
        );
        // The first sleep was woken halfway and slept out its remaining half.
        assert_eq!(*env.slept.borrow(), [750.0, 375.0, 1500.0]);
        assert_eq!(env.sent.borrow().len(), 3);
    }

    #[test]
    fn poll_now_ends_the_sleep_and_polls() {
        let env = waiting(vec![
            Step::Answer(200, &[], PENDING),
            Step::Answer(200, &[], PROCESSED),
        ]);
        env.sleep_pushes
            .borrow_mut()
            .push_back(Some(Push::PollNow("pm")));
        let env = env.waiting(WaitKey {
            id: ID.into(),
            payment_method_id: Some("pm".into()),
        });
        let updates = RefCell::new(Vec::new());
        run(&env, &policy(600_000.0), &updates).unwrap();
        assert_eq!(env.sent.borrow().len(), 2);
        assert_eq!(env.clock.now(), 375.0, "polled halfway through the sleep");
        assert_eq!(env.reached.get(), 1);
    }

    #[test]
    fn a_poll_now_during_a_poll_polls_again_at_once() {
        let env = poll_now_during(Step::Answer(200, &[], PENDING));
        let updates = RefCell::new(Vec::new());
        run(&env, &policy(600_000.0), &updates).unwrap();
        // The event may be newer than the answer of the poll in flight: no sleep before the next.
        assert!(
            env.slept.borrow().is_empty(),
            "slept {:?}",
            env.slept.borrow()
        );
        assert_eq!(env.sent.borrow().len(), 2);
    }

    #[test]
    fn a_poll_now_during_a_failed_poll_keeps_the_retry_delay() {
        let env = poll_now_during(Step::Answer(503, &[], "{}"));
        let updates = RefCell::new(Vec::new());
        run(&env, &policy(600_000.0), &updates).unwrap();
        assert_eq!(
            env.slept.borrow().len(),
            1,
            "slept {:?}",
            env.slept.borrow()
        );
        assert_eq!(env.sent.borrow().len(), 2);
    }

    #[test]
    fn a_push_before_the_first_poll_sends_nothing() {
        let env = waiting(vec![]);
        let Push::Status(done) = pushed(PROCESSED) else {
            unreachable!()
        };
        assert_eq!(env.waits.notify(Provider::TokenIo, &done), 1);
        let updates = RefCell::new(Vec::new());
        let status = run(&env, &policy(600_000.0), &updates).unwrap();
        assert_eq!(status, *done);
        assert!(env.sent.borrow().is_empty());
    }

    // -----------------------------------------------------------------------------------------
    // Waits on several tokens of one Gr4vy payment method share each round's list

    /// A Gr4vy list of `tokens` tokens of "pm", all in `status`, taking 50 ms to answer.
    fn listed(tokens: usize, status: &str) -> Step {
        let items: Vec<String> = (0..tokens)
            .map(|i| {
                format!(r#"{{"id":"t{i}","status":"{status}","payment_method_id":"pm","token":"tok-{i}"}}"#)
            })
            .collect();
        let body: &'static str = Box::leak(format!(r#"{{"items":[{}]}}"#, items.join(",")).into());
        Step::Slow(50.0, Box::new(Step::Answer(200, &[], body)))
    }

    fn gr4vy_config() -> ClientConfig {
        let mut config = ClientConfig::new(Provider::Gr4vy, "http://sim/gr4vy".into());
        config.retry = RetryPolicy::DISABLED;
        config
    }

    /// `n` waits on tokens t0..t(n-1) of "pm" on one client, started together, each with its
    /// own jitter; their results and onUpdate reports.
    fn gr4vy_waits(
        script: Vec<Step>,
        n: usize,
    ) -> (FakeEnv, Vec<Result<TokenStatus, Error>>, Vec<Vec<String>>) {
        let client = FakeEnv::new(gr4vy_config(), script);
        let ids: Vec<String> = (0..n).map(|i| format!("t{i}")).collect();
        let waits: Vec<FakeEnv> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let mut env = FakeEnv::caller(&client.io).waiting(WaitKey {
                    id: id.as_str().into(),
                    payment_method_id: Some("pm".into()),
                });
                env.random = i as f64 / n as f64;
                env
            })
            .collect();
        let request = std::rc::Rc::new(
            crate::providers::gr4vy::list_request(&client.config, "pm", None).unwrap(),
        );
        let updates: Vec<RefCell<Vec<String>>> = (0..n).map(|_| RefCell::new(Vec::new())).collect();
        let runs = waits
            .iter()
            .zip(&ids)
            .zip(&updates)
            .map(|((env, id), updates)| {
                let request = &request;
                async move {
                    let mut call = Call {
                        request,
                        subject: Subject {
                            what: "payment service token",
                            id,
                        },
                        timeout_ms: 30_000.0,
                        deadline_ms: None,
                        listing: Some("pm"),
                    };
                    wait(
                        env,
                        &mut call,
                        &policy(600_000.0),
                        |r| crate::providers::gr4vy::parse_one_of_list(&r.response, "pm", id),
                        |s| updates.borrow_mut().push(s.state.as_str().to_owned()),
                    )
                    .await
                }
            })
            .collect();
        let results = client.run(all(runs));
        drop(waits);
        (
            client,
            results,
            updates.into_iter().map(RefCell::into_inner).collect(),
        )
    }

    #[test]
    fn waits_on_one_payment_method_share_each_rounds_list() {
        let (client, results, updates) = gr4vy_waits(
            vec![
                listed(5, "processing"),
                listed(5, "processing"),
                listed(5, "processing"),
                listed(5, "succeeded"),
            ],
            5,
        );
        for (i, result) in results.iter().enumerate() {
            let status = result.as_ref().unwrap();
            assert_eq!(status.id, format!("t{i}"), "each its own token");
            assert_eq!(status.token.as_deref(), Some(format!("tok-{i}").as_str()));
            assert_eq!(updates[i], ["pending", "succeeded"]);
        }
        // The first round's five reads shared one request; every later round one poller's
        // list served the four others (without sharing: 4 requests per round).
        assert_eq!(client.sent.borrow().len(), 4);
        assert_eq!(client.served.get(), 3 * 4);
        assert!(client.waits.is_empty());
    }

    #[test]
    fn a_served_status_counts_as_a_poll() {
        let (client, results, _) = gr4vy_waits(
            vec![
                listed(2, "processing"),
                listed(2, "processing"),
                listed(2, "failed"),
            ],
            2,
        );
        assert!(
            results
                .iter()
                .all(|r| r.as_ref().unwrap().state == TokenState::Failed)
        );
        assert_eq!(client.sent.borrow().len(), 3);
        // t0 (jitter 0) polls at 500 (delay 1 of 1000 ms) and serves t1, which had slept till
        // 750: t1 starts over at 550 with delay 2 (of 2000 ms) and is served again.
        assert_eq!(client.served.get(), 2);
    }

    #[test]
    fn a_list_without_the_token_serves_nothing_and_the_wait_finds_out_itself() {
        // The list holds t0 only: t1's first poll (shared with t0's) finds it is not there.
        let (client, results, _) =
            gr4vy_waits(vec![listed(1, "processing"), listed(1, "succeeded")], 2);
        assert_eq!(results[0].as_ref().unwrap().state, TokenState::Succeeded);
        let error = results[1].as_ref().unwrap_err();
        assert_eq!((error.kind, error.attempts), (ErrorKind::NotFound, 1));
        assert_eq!(client.sent.borrow().len(), 2);
        assert_eq!(client.served.get(), 0);
    }
}
