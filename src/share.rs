//! Sharing on one client, decided without I/O.
//!
//! - **Flights**: identical status reads in flight (same client, GET, same URL, hence the same
//!   credential configuration) share one attempt — one credential lookup, one request. Each
//!   caller takes a [`Seat`] and awaits the same [`Outcome`] with its own timeout and signal;
//!   a caller that leaves early gets its own timeout or abort, and the shared attempt is dropped
//!   (which aborts its request) only when its last seat is given up. Whichever seat is polled
//!   drives the attempt; a driver that leaves hands the driving to another seat.
//! - **The gate**: a client sends at most [`MAX_IN_FLIGHT`] requests at once; more attempts
//!   wait in order for a free place. Thousands of concurrent waits then reuse a bounded number
//!   of connections instead of opening one each (which costs the runtime, and the provider,
//!   far more than the requests themselves).

use crate::error::Error;
use crate::http::{Request, Response};
use crate::index::{Index, key_hash};
use crate::status::TokenStatus;
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::rc::{Rc, Weak};
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{Cell, OnceCell, RefCell};
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

/// Requests one client sends at once, at most. Browsers allow six connections per origin over
/// HTTP/1.1 anyway; in a server, 64 requests in flight (640 a second at 100 ms each) are more
/// than a provider's rate limit lets through, and keep connection reuse cheap: Node's fetch
/// looks through every open connection to an origin for a free one on each request.
///
/// Measured with builds at 64, 128, 256 and no limit (`bench/builds.mjs`, README "At scale"):
/// 100 concurrent callers on distinct ids get the same throughput at each (0.62–0.73× the raw
/// `fetch` floor; what limits them is the CPU time of each call, 1.4–1.5× the floor's, not the
/// places), while 10,000 concurrent waits need 10.5–11.1 s of CPU and 102–113 MB of JS heap at
/// 64 against 12.5–13.6 s and 164 MB at 256 and 14.1–16.1 s and 515–532 MB with no limit.
pub const MAX_IN_FLIGHT: usize = 64;

/// Where a shared attempt is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for one of the client's places in flight.
    Queued,
    /// Getting its credential (a `bearerToken` function, a minted Gr4vy token).
    Authorizing,
    /// The request was sent.
    Sent,
}

/// How an attempt ended.
#[derive(Debug)]
pub enum Attempted {
    /// The request was sent and answered.
    Answered(Reply),
    /// The request was sent and no answer came (DNS, refused, reset, CORS): the runtime's words.
    Network(String),
    /// No credential could be had for it: nothing was sent.
    NoCredential(Error),
}

/// An answer, as every caller that shared it reads it.
#[derive(Debug)]
pub struct Reply {
    /// The answer.
    pub response: Response,
    /// True when several callers shared it: each then reads a Gr4vy list from one parse.
    pub shared: Cell<bool>,
    list: OnceCell<Option<Vec<TokenStatus>>>,
}

impl Reply {
    /// An answer read by one caller so far.
    pub fn new(response: Response) -> Reply {
        Reply {
            response,
            shared: Cell::new(false),
            list: OnceCell::new(),
        }
    }

    /// A Gr4vy list answer's tokens, parsed once however many callers ask; `None` when the body
    /// is not a valid list (each caller then reads the error from the response itself).
    pub fn gr4vy_list(&self) -> Option<&[TokenStatus]> {
        self.list
            .get_or_init(|| crate::providers::gr4vy::parse_list(&self.response).ok())
            .as_deref()
    }
}

/// What an attempt produced, shared by every caller that took part in it.
#[derive(Debug)]
pub struct Outcome {
    /// How it ended.
    pub attempted: Attempted,
    /// The token a `bearerToken` function or the Gr4vy key gave it, for redaction.
    pub token: Option<String>,
}

/// The shared attempt itself: owned by its flight, dropped (aborting its request) when the
/// last seat is given up before it ends.
pub type Attempt = Pin<Box<dyn Future<Output = Outcome>>>;

/// One attempt in progress and the callers taking part in it.
pub struct Flight {
    /// Counts the client's flights, wrapping (a retry compares its flight's serial with its
    /// previous one's: they never lie 2³² flights apart). 32 bits, and the URL's hash read
    /// again when the flight ends rather than kept, hold a flight (kept by every queued
    /// attempt) to 72 B on wasm32, below the allocator's next 16-byte step.
    serial: u32,
    /// The request it sends, when it can be shared.
    key: Option<Rc<Request>>,
    phase: Cell<Phase>,
    state: RefCell<FlightState>,
}

/// How an attempt tells its callers where it is.
pub struct Progress(Weak<Flight>);

impl Progress {
    /// The attempt moved on to `phase`. Leaving the queue wakes every caller: each one's own
    /// timeout starts then.
    pub fn set(&self, phase: Phase) {
        let Some(flight) = self.0.upgrade() else {
            return;
        };
        let was = flight.phase.replace(phase);
        if was == Phase::Queued && phase != Phase::Queued {
            let wakers: Vec<Waker> = flight
                .state
                .borrow()
                .seats
                .iter()
                .filter_map(|s| s.clone().flatten())
                .collect();
            for waker in wakers {
                waker.wake();
            }
        }
    }
}

/// Where the attempt itself is: still waiting for a place (with what starts it then: a queued
/// attempt holds no more than that), or running.
enum Stage {
    Queued(Acquire, Box<dyn FnOnce(Permit, Progress) -> Attempt>),
    Running(Attempt),
}

struct FlightState {
    attempt: Option<Stage>,
    outcome: Option<Rc<Outcome>>,
    /// One entry per seat ever taken: `None` once given up, else the waker of its last poll.
    seats: Vec<Option<Option<Waker>>>,
    taken: usize,
    /// The seat whose task the attempt's I/O wakes (the last to poll it).
    driver: Option<usize>,
}

/// The flights of one client that can be joined, by the hash of their URL.
#[derive(Default)]
pub struct Flights {
    by_key: RefCell<Index<Rc<Flight>>>,
    serial: Cell<u32>,
    /// Every call on its own: nothing is shared (see [`Shared::isolated`]).
    alone: bool,
}

impl Flights {
    /// Takes a seat on the flight in progress for `shared` (a GET, shared by its URL), or
    /// starts a new one: `start` makes its attempt once it has a place at `gate` (at once when
    /// one is free), given the place and how to report its progress. `None` (a POST) never
    /// shares.
    pub fn join(
        &self,
        shared: Option<&Rc<Request>>,
        gate: &Gate,
        start: impl FnOnce(Permit, Progress) -> Attempt + 'static,
    ) -> Seat<'_> {
        let key = shared
            .filter(|_| !self.alone)
            .map(|request| (key_hash(&request.url), request));
        if let Some((hash, request)) = key {
            let existing = self
                .by_key
                .borrow()
                .get(hash)
                .find(|f| f.key.as_ref().is_some_and(|r| r.url == request.url))
                .cloned();
            if let Some(flight) = existing {
                let index = {
                    let mut state = flight.state.borrow_mut();
                    state.seats.push(Some(None));
                    state.taken += 1;
                    state.seats.len() - 1
                };
                return Seat {
                    flights: self,
                    flight,
                    index,
                };
            }
        }
        let serial = self.serial.get().wrapping_add(1);
        self.serial.set(serial);
        let place = gate.try_acquire();
        let phase = if place.is_some() {
            Phase::Authorizing
        } else {
            Phase::Queued
        };
        let flight = Rc::new_cyclic(|weak| Flight {
            serial,
            key: key.map(|(_, request)| request.clone()),
            phase: Cell::new(phase),
            state: RefCell::new(FlightState {
                attempt: Some(match place {
                    Some(place) => Stage::Running(start(place, Progress(weak.clone()))),
                    None => Stage::Queued(gate.acquire(), Box::new(start)),
                }),
                outcome: None,
                seats: alloc::vec![Some(None)],
                taken: 1,
                driver: None,
            }),
        });
        if let Some((hash, _)) = key {
            self.by_key.borrow_mut().insert(hash, flight.clone());
        }
        Seat {
            flights: self,
            flight,
            index: 0,
        }
    }

    /// Forgets `flight` as the one in progress for its key (it ended, or was given up).
    fn forget(&self, flight: &Rc<Flight>) {
        if let Some(request) = &flight.key {
            self.by_key
                .borrow_mut()
                .remove(key_hash(&request.url), |f| Rc::ptr_eq(f, flight));
        }
    }

    /// Flights in progress (for tests and leak checks).
    pub fn in_progress(&self) -> usize {
        self.by_key.borrow().len()
    }
}

/// One caller's place on a flight; giving it up (dropping it) leaves the flight.
pub struct Seat<'a> {
    flights: &'a Flights,
    flight: Rc<Flight>,
    index: usize,
}

impl<'a> Seat<'a> {
    /// Identifies the flight: a caller that retries onto the same flight counts it once.
    pub fn serial(&self) -> u32 {
        self.flight.serial
    }

    /// Where the flight's attempt is.
    pub fn phase(&self) -> Phase {
        self.flight.phase.get()
    }

    /// Seats taken on this flight now.
    pub fn taken(&self) -> usize {
        self.flight.state.borrow().taken
    }

    /// The flight's outcome, once it has one.
    pub fn outcome(&mut self) -> SeatOutcome<'_, 'a> {
        SeatOutcome { seat: self }
    }

    /// Ready once the flight's attempt has left the queue for a place in flight: `None`, or
    /// the outcome when it ended that fast.
    pub fn started(&mut self) -> SeatStarted<'_, 'a> {
        SeatStarted { seat: self }
    }

    fn poll_outcome(&mut self, cx: &mut Context<'_>) -> Poll<Rc<Outcome>> {
        let mut state = self.flight.state.borrow_mut();
        if let Some(outcome) = &state.outcome {
            return Poll::Ready(outcome.clone());
        }
        if let Some(Some(slot)) = state.seats.get_mut(self.index) {
            if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *slot = Some(cx.waker().clone());
            }
        }
        // Polled from outside while another seat polls it (cannot happen on one thread, but
        // costs nothing to allow): that seat will wake this one.
        let Some(stage) = state.attempt.take() else {
            return Poll::Pending;
        };
        state.driver = Some(self.index);
        drop(state);
        let mut attempt = match stage {
            Stage::Running(attempt) => attempt,
            Stage::Queued(mut acquire, start) => match Pin::new(&mut acquire).poll(cx) {
                Poll::Pending => {
                    self.flight.state.borrow_mut().attempt = Some(Stage::Queued(acquire, start));
                    return Poll::Pending;
                }
                Poll::Ready(place) => {
                    let progress = Progress(Rc::downgrade(&self.flight));
                    let attempt = start(place, Progress(Rc::downgrade(&self.flight)));
                    progress.set(Phase::Authorizing);
                    attempt
                }
            },
        };
        let polled = attempt.as_mut().poll(cx);
        let mut state = self.flight.state.borrow_mut();
        match polled {
            Poll::Pending => {
                state.attempt = Some(Stage::Running(attempt));
                Poll::Pending
            }
            Poll::Ready(outcome) => {
                if let Attempted::Answered(reply) = &outcome.attempted {
                    reply.shared.set(state.seats.len() > 1);
                }
                let outcome = Rc::new(outcome);
                state.outcome = Some(outcome.clone());
                state.driver = None;
                let others: Vec<Waker> = state
                    .seats
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != self.index)
                    .filter_map(|(_, s)| s.clone().flatten())
                    .collect();
                drop(state);
                drop(attempt);
                self.flights.forget(&self.flight);
                for waker in others {
                    waker.wake();
                }
                Poll::Ready(outcome)
            }
        }
    }
}

impl Drop for Seat<'_> {
    fn drop(&mut self) {
        let mut state = self.flight.state.borrow_mut();
        if let Some(slot) = state.seats.get_mut(self.index) {
            *slot = None;
        }
        state.taken -= 1;
        if state.outcome.is_some() {
            return;
        }
        if state.taken == 0 {
            // The last caller left: nobody wants the answer any more. Dropping the attempt
            // aborts its request (or gives up its place in the queue).
            let attempt = state.attempt.take();
            drop(state);
            self.flights.forget(&self.flight);
            drop(attempt);
        } else if state.driver == Some(self.index) {
            // The attempt's I/O would wake this seat's task, which is going away: wake another
            // seat, whose next poll drives the attempt (and re-registers its own waker).
            state.driver = None;
            let next = state.seats.iter().find_map(|s| s.clone().flatten());
            drop(state);
            if let Some(waker) = next {
                waker.wake();
            }
        }
    }
}

/// A seat's wait for its flight's outcome.
pub struct SeatOutcome<'s, 'a> {
    seat: &'s mut Seat<'a>,
}

impl Future for SeatOutcome<'_, '_> {
    type Output = Rc<Outcome>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Rc<Outcome>> {
        self.seat.poll_outcome(cx)
    }
}

/// A seat's wait for its flight's attempt to leave the queue.
pub struct SeatStarted<'s, 'a> {
    seat: &'s mut Seat<'a>,
}

impl Future for SeatStarted<'_, '_> {
    type Output = Option<Rc<Outcome>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Rc<Outcome>>> {
        match self.seat.poll_outcome(cx) {
            Poll::Ready(outcome) => Poll::Ready(Some(outcome)),
            Poll::Pending if self.seat.phase() != Phase::Queued => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The client's places in flight: at most `limit` requests at once, the rest waiting in order.
/// Its waits and places hold the gate themselves, so that a queued attempt needs nothing else.
#[derive(Clone)]
pub struct Gate(Rc<GateState>);

struct GateState {
    limit: usize,
    used: Cell<usize>,
    queue: RefCell<VecDeque<Rc<Waiter>>>,
    /// Waiters in the queue still waiting (not granted, not gone).
    waiting: Cell<usize>,
}

struct Waiter {
    granted: Cell<bool>,
    gone: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Default for Gate {
    fn default() -> Gate {
        Gate::new(MAX_IN_FLIGHT)
    }
}

impl Gate {
    /// A gate letting `limit` requests through at once (at least one).
    pub fn new(limit: usize) -> Gate {
        Gate(Rc::new(GateState {
            limit: limit.max(1),
            used: Cell::new(0),
            queue: RefCell::new(VecDeque::new()),
            waiting: Cell::new(0),
        }))
    }

    /// Waits for a place; holding the [`Permit`] holds it.
    pub fn acquire(&self) -> Acquire {
        Acquire {
            gate: self.0.clone(),
            waiter: None,
        }
    }

    /// A place now, when there is one free and nobody waits for it.
    pub fn try_acquire(&self) -> Option<Permit> {
        self.has_room().then(|| {
            self.0.used.set(self.0.used.get() + 1);
            Permit(self.0.clone())
        })
    }

    /// True when an attempt asking now gets a place at once.
    pub fn has_room(&self) -> bool {
        self.0.used.get() < self.0.limit && self.0.waiting.get() == 0
    }

    /// Places in use now.
    pub fn in_use(&self) -> usize {
        self.0.used.get()
    }

    /// Attempts waiting for a place now.
    pub fn waiting(&self) -> usize {
        self.0.waiting.get()
    }
}

impl GateState {
    /// A place was given back: hands it to the next waiter in line, or frees it.
    fn release(&self) {
        loop {
            let next = self.queue.borrow_mut().pop_front();
            match next {
                None => {
                    self.used.set(self.used.get() - 1);
                    return;
                }
                Some(waiter) if waiter.gone.get() => continue,
                Some(waiter) => {
                    waiter.granted.set(true);
                    self.waiting.set(self.waiting.get() - 1);
                    let waker = waiter.waker.borrow_mut().take();
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                    return;
                }
            }
        }
    }
}

/// Waiting for a place at the [`Gate`]; dropping it leaves the line (or gives back a place
/// granted meanwhile).
pub struct Acquire {
    gate: Rc<GateState>,
    waiter: Option<Rc<Waiter>>,
}

impl Future for Acquire {
    type Output = Permit;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Permit> {
        let gate = self.gate.clone();
        match &self.waiter {
            None => {
                if gate.used.get() < gate.limit && gate.waiting.get() == 0 {
                    gate.used.set(gate.used.get() + 1);
                    return Poll::Ready(Permit(gate));
                }
                let waiter = Rc::new(Waiter {
                    granted: Cell::new(false),
                    gone: Cell::new(false),
                    waker: RefCell::new(Some(cx.waker().clone())),
                });
                gate.queue.borrow_mut().push_back(waiter.clone());
                gate.waiting.set(gate.waiting.get() + 1);
                self.waiter = Some(waiter);
                Poll::Pending
            }
            Some(waiter) if waiter.granted.get() => {
                self.waiter = None;
                Poll::Ready(Permit(gate))
            }
            Some(waiter) => {
                *waiter.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for Acquire {
    fn drop(&mut self) {
        if let Some(waiter) = self.waiter.take() {
            if waiter.granted.get() {
                self.gate.release();
            } else {
                waiter.gone.set(true);
                self.gate.waiting.set(self.gate.waiting.get() - 1);
            }
        }
    }
}

/// One place in flight, given back when dropped.
pub struct Permit(Rc<GateState>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// What one client shares between its calls.
#[derive(Default)]
pub struct Shared {
    /// Attempts in flight, by URL.
    pub flights: Flights,
    /// Places in flight.
    pub gate: Gate,
}

impl Shared {
    /// For a runtime where each incoming request's I/O belongs to that request alone
    /// (Cloudflare Workers: a fetch started for one request cannot be awaited for another, and
    /// ends with it): calls share no attempt and no place in flight, since the calls of two
    /// requests must not wait for each other's I/O. The runtime bounds connections per request
    /// itself.
    pub fn isolated() -> Shared {
        Shared {
            flights: Flights {
                alone: true,
                ..Flights::default()
            },
            gate: Gate::new(usize::MAX),
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    struct Task {
        count: Arc<Count>,
        waker: Waker,
    }

    fn get(url: &str) -> Rc<Request> {
        Rc::new(Request::new(crate::http::Method::Get, url.into()))
    }

    impl Task {
        fn new() -> Task {
            let count = Arc::new(Count(AtomicUsize::new(0)));
            Task {
                waker: Waker::from(count.clone()),
                count,
            }
        }

        fn woken(&self) -> usize {
            self.count.0.load(Ordering::SeqCst)
        }

        fn poll<F: Future + Unpin>(&self, future: &mut F) -> Poll<F::Output> {
            Pin::new(future).poll(&mut Context::from_waker(&self.waker))
        }
    }

    /// An attempt that ends when `done` holds an outcome, and records when it is dropped.
    struct Scripted {
        done: Rc<RefCell<Option<Outcome>>>,
        polled_by: Rc<RefCell<Option<Waker>>>,
        dropped: Rc<Cell<bool>>,
    }

    impl Future for Scripted {
        type Output = Outcome;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
            *self.polled_by.borrow_mut() = Some(cx.waker().clone());
            match self.done.borrow_mut().take() {
                Some(outcome) => Poll::Ready(outcome),
                None => Poll::Pending,
            }
        }
    }

    impl Drop for Scripted {
        fn drop(&mut self) {
            self.dropped.set(true);
        }
    }

    struct Script {
        done: Rc<RefCell<Option<Outcome>>>,
        polled_by: Rc<RefCell<Option<Waker>>>,
        dropped: Rc<Cell<bool>>,
        started: Rc<Cell<usize>>,
    }

    impl Script {
        fn new() -> Script {
            Script {
                done: Rc::new(RefCell::new(None)),
                polled_by: Rc::new(RefCell::new(None)),
                dropped: Rc::new(Cell::new(false)),
                started: Rc::new(Cell::new(0)),
            }
        }

        fn attempt(&self) -> impl FnOnce(Permit, Progress) -> Attempt + 'static {
            let (started, done, polled_by, dropped) = (
                self.started.clone(),
                self.done.clone(),
                self.polled_by.clone(),
                self.dropped.clone(),
            );
            move |_place, _progress| {
                started.set(started.get() + 1);
                Box::pin(Scripted {
                    done,
                    polled_by,
                    dropped,
                })
            }
        }

        /// Ends the attempt with a 200 and wakes whoever polled it last.
        fn answer(&self) {
            *self.done.borrow_mut() = Some(Outcome {
                attempted: Attempted::Answered(Reply::new(Response {
                    status: 200,
                    ..Response::default()
                })),
                token: None,
            });
            if let Some(waker) = self.polled_by.borrow_mut().take() {
                waker.wake();
            }
        }
    }

    #[test]
    fn identical_calls_share_one_attempt_and_each_get_the_outcome() {
        let flights = Flights::default();
        let script = Script::new();
        let (a, b, c) = (Task::new(), Task::new(), Task::new());
        let mut seat_a = flights.join(
            Some(&get("GET /x")),
            &Gate::new(usize::MAX),
            script.attempt(),
        );
        let mut seat_b = flights.join(
            Some(&get("GET /x")),
            &Gate::new(usize::MAX),
            script.attempt(),
        );
        let mut seat_c = flights.join(
            Some(&get("GET /x")),
            &Gate::new(usize::MAX),
            script.attempt(),
        );
        assert_eq!(script.started.get(), 1, "one attempt for three callers");
        assert_eq!(seat_a.serial(), seat_c.serial());
        assert_eq!(seat_a.taken(), 3);
        assert!(a.poll(&mut seat_a.outcome()).is_pending());
        assert!(b.poll(&mut seat_b.outcome()).is_pending());
        assert!(c.poll(&mut seat_c.outcome()).is_pending());
        script.answer();
        // The last poller (c) was woken by the attempt; it drives it to its end and wakes the others.
        assert_eq!(c.woken(), 1);
        let Poll::Ready(outcome) = c.poll(&mut seat_c.outcome()) else {
            panic!("c: not ready")
        };
        assert_eq!((a.woken(), b.woken()), (1, 1));
        let Poll::Ready(same) = a.poll(&mut seat_a.outcome()) else {
            panic!("a: not ready")
        };
        assert!(Rc::ptr_eq(&outcome, &same));
        let Attempted::Answered(reply) = &outcome.attempted else {
            panic!("answered")
        };
        assert!(reply.shared.get(), "several callers read it");
        assert_eq!(
            flights.in_progress(),
            0,
            "an ended flight is not joined any more"
        );
        let _later = flights.join(
            Some(&get("GET /x")),
            &Gate::new(usize::MAX),
            script.attempt(),
        );
        assert_eq!(
            script.started.get(),
            2,
            "a call after the answer sends again"
        );
    }

    #[test]
    fn different_keys_and_posts_never_share() {
        let flights = Flights::default();
        let script = Script::new();
        let _a = flights.join(
            Some(&get("GET /x")),
            &Gate::new(usize::MAX),
            script.attempt(),
        );
        let _b = flights.join(
            Some(&get("GET /y")),
            &Gate::new(usize::MAX),
            script.attempt(),
        );
        let _c = flights.join(None, &Gate::new(usize::MAX), script.attempt());
        let _d = flights.join(None, &Gate::new(usize::MAX), script.attempt());
        assert_eq!(script.started.get(), 4);
        assert_eq!(flights.in_progress(), 2);
    }

    #[test]
    fn leaving_early_never_ends_the_attempt_for_the_others() {
        let flights = Flights::default();
        let script = Script::new();
        let (a, b) = (Task::new(), Task::new());
        let mut seat_a = flights.join(Some(&get("k")), &Gate::new(usize::MAX), script.attempt());
        let mut seat_b = flights.join(Some(&get("k")), &Gate::new(usize::MAX), script.attempt());
        assert!(b.poll(&mut seat_b.outcome()).is_pending());
        assert!(a.poll(&mut seat_a.outcome()).is_pending());
        // a drives (it polled last) and leaves: b is woken to take over.
        drop(seat_a);
        assert_eq!(b.woken(), 1);
        assert!(!script.dropped.get(), "the request goes on for b");
        assert!(b.poll(&mut seat_b.outcome()).is_pending());
        script.answer();
        assert_eq!(b.woken(), 2, "the attempt now wakes b");
        assert!(b.poll(&mut seat_b.outcome()).is_ready());
    }

    #[test]
    fn the_attempt_is_dropped_when_every_caller_has_gone() {
        let flights = Flights::default();
        let script = Script::new();
        let a = Task::new();
        let mut seat_a = flights.join(Some(&get("k")), &Gate::new(usize::MAX), script.attempt());
        let seat_b = flights.join(Some(&get("k")), &Gate::new(usize::MAX), script.attempt());
        assert!(a.poll(&mut seat_a.outcome()).is_pending());
        drop(seat_b);
        assert!(!script.dropped.get());
        drop(seat_a);
        assert!(script.dropped.get(), "aborted with its last caller");
        assert_eq!(flights.in_progress(), 0);
        let _next = flights.join(Some(&get("k")), &Gate::new(usize::MAX), script.attempt());
        assert_eq!(script.started.get(), 2, "the next call starts afresh");
    }

    #[test]
    fn isolated_calls_share_nothing() {
        let shared = Shared::isolated();
        let script = Script::new();
        let _a = shared.flights.join(
            Some(&get("GET /x")),
            &Gate::new(usize::MAX),
            script.attempt(),
        );
        let _b = shared.flights.join(
            Some(&get("GET /x")),
            &Gate::new(usize::MAX),
            script.attempt(),
        );
        assert_eq!(script.started.get(), 2);
        assert_eq!(shared.flights.in_progress(), 0);
        let task = Task::new();
        let mut acquires: Vec<Acquire> = (0..1000).map(|_| shared.gate.acquire()).collect();
        assert!(acquires.iter_mut().all(|a| task.poll(a).is_ready()));
    }

    #[test]
    fn the_gate_lets_limit_through_in_order() {
        let gate = Gate::new(2);
        let tasks: Vec<Task> = (0..5).map(|_| Task::new()).collect();
        let mut acquires: Vec<Acquire> = (0..5).map(|_| gate.acquire()).collect();
        let mut permits = Vec::new();
        for (i, task) in tasks.iter().enumerate() {
            match task.poll(&mut acquires[i]) {
                Poll::Ready(permit) => permits.push((i, permit)),
                Poll::Pending => {}
            }
        }
        assert_eq!(permits.iter().map(|p| p.0).collect::<Vec<_>>(), [0, 1]);
        assert_eq!((gate.in_use(), gate.waiting()), (2, 3));
        // The third leaves the line; the first gives its place back: the fourth gets it.
        drop(acquires.remove(2));
        permits.remove(0);
        assert_eq!(tasks[3].woken(), 1);
        assert_eq!(tasks[4].woken(), 0);
        let Poll::Ready(permit) = tasks[3].poll(&mut acquires[2]) else {
            panic!("granted")
        };
        assert_eq!((gate.in_use(), gate.waiting()), (2, 1));
        // A granted place that is never taken up is passed on when its waiter goes away.
        drop(permit);
        assert_eq!(tasks[4].woken(), 1);
        drop(acquires);
        drop(permits);
        assert_eq!((gate.in_use(), gate.waiting()), (0, 0));
    }
}
