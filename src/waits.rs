//! Waits in flight, so that a status learned elsewhere reaches them at once:
//!
//! - a verified webhook or `notify()`: a terminal status ends a wait, any other is reported
//!   through its `onUpdate`, and a Gr4vy payment-method event makes the waits on that payment
//!   method poll now instead of sleeping out their interval;
//! - another call's Gr4vy list: when any call on a client lists payment method X, the waits on
//!   X's tokens that are sleeping take their token's status from that answer as their poll (the
//!   list is parsed once for all of them), so waits on several tokens of one payment method make
//!   about one list request per round between them, not one each.
//!
//! Everything here is pure: waking a suspended wait is calling its task's [`Waker`].

use crate::index::{self, key_hash};
use crate::share::Reply;
use crate::status::{Provider, ProviderFields, TokenStatus};
use alloc::boxed::Box;
use alloc::rc::{Rc, Weak};
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::task::Waker;

/// What a wait is waiting on: the id it polls, and for Gr4vy the payment method its token
/// belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitKey {
    /// Truemed provision token request id, Gr4vy payment service token id, Token.io token
    /// request id: the `id` of the statuses the wait resolves with.
    pub id: Rc<str>,
    /// The Gr4vy payment method (`None` for the other providers).
    pub payment_method_id: Option<Rc<str>>,
}

impl WaitKey {
    /// The index the wait is kept under: its payment method for Gr4vy, else its id.
    fn index(&self) -> &str {
        self.payment_method_id.as_deref().unwrap_or(&self.id)
    }
}

/// What may wake a suspended wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WakeOn {
    /// Only a terminal status: used while a request is in flight (a report or a "poll now" can
    /// wait for its answer).
    Terminal,
    /// Any pushed or served status, or a "poll now": used while the wait sleeps between polls.
    Anything,
}

/// One wait's mailbox: what was pushed or served to it since it last looked, and the waker of
/// its current suspension.
pub struct Mailbox {
    key: WaitKey,
    status: RefCell<Option<Box<TokenStatus>>>,
    served: RefCell<Option<Box<TokenStatus>>>,
    poll_now: Cell<bool>,
    armed: RefCell<Option<(WakeOn, Waker)>>,
}

impl Mailbox {
    fn new(key: WaitKey) -> Mailbox {
        Mailbox {
            key,
            status: RefCell::new(None),
            served: RefCell::new(None),
            poll_now: Cell::new(false),
            armed: RefCell::new(None),
        }
    }

    /// The latest status pushed (webhook, `notify()`) since the last call, if any.
    pub fn take_status(&self) -> Option<TokenStatus> {
        self.status.borrow_mut().take().map(|s| *s)
    }

    /// The latest status served from another call's list since the last call, if any: it
    /// counts as a poll of the wait's own.
    pub fn take_served(&self) -> Option<TokenStatus> {
        self.served.borrow_mut().take().map(|s| *s)
    }

    /// True once after a "poll now".
    pub fn take_poll_now(&self) -> bool {
        self.poll_now.replace(false)
    }

    /// True when what is waiting in the box would wake a suspension of kind `on`.
    pub fn would_wake(&self, on: WakeOn) -> bool {
        match self.status.borrow().as_deref() {
            Some(status) if status.terminal() => return true,
            Some(_) if on == WakeOn::Anything => return true,
            _ => {}
        }
        on == WakeOn::Anything && (self.poll_now.get() || self.served.borrow().is_some())
    }

    /// Sets the waker of the wait's current suspension, until [`Mailbox::disarm`]. Returns
    /// false, setting nothing, when the box already holds something that would wake it: the
    /// wait then does not suspend at all.
    pub fn arm(&self, on: WakeOn, waker: &Waker) -> bool {
        if self.would_wake(on) {
            return false;
        }
        let mut armed = self.armed.borrow_mut();
        match &mut *armed {
            Some((kind, current)) if *kind == on && current.will_wake(waker) => {}
            _ => *armed = Some((on, waker.clone())),
        }
        true
    }

    /// Forgets the waker (the suspension ended by itself).
    pub fn disarm(&self) {
        self.armed.borrow_mut().take();
    }

    /// True while the wait sleeps between polls (the time another call's list can serve it).
    pub fn sleeping(&self) -> bool {
        matches!(&*self.armed.borrow(), Some((WakeOn::Anything, _)))
    }

    /// Calls the waker, once, when what the box now holds is what it waits for.
    fn wake_if_due(&self) {
        let due = matches!(&*self.armed.borrow(), Some((on, _)) if self.would_wake(*on));
        if due {
            let armed = self.armed.borrow_mut().take();
            if let Some((_, waker)) = armed {
                waker.wake();
            }
        }
    }
}

type Index = RefCell<index::Index<Rc<Mailbox>>>;

/// The waits in flight on one client, by the hash of their Gr4vy payment method or id.
#[derive(Default)]
pub struct Waits {
    index: Rc<Index>,
}

/// A wait's place among its client's waits: its mailbox, and its removal when dropped (the wait
/// resolved, rejected or was aborted).
pub struct Registration {
    mailbox: Rc<Mailbox>,
    index: Weak<Index>,
}

impl Registration {
    /// The wait's mailbox.
    pub fn mailbox(&self) -> &Mailbox {
        &self.mailbox
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let Some(index) = self.index.upgrade() else {
            return;
        };
        index
            .borrow_mut()
            .remove(key_hash(self.mailbox.key.index()), |m| {
                Rc::ptr_eq(m, &self.mailbox)
            });
    }
}

impl Waits {
    /// Registers a wait on `key`; keep the registration for as long as the wait runs.
    pub fn register(&self, key: WaitKey) -> Registration {
        let mailbox = Rc::new(Mailbox::new(key));
        self.index
            .borrow_mut()
            .insert(key_hash(mailbox.key.index()), mailbox.clone());
        Registration {
            mailbox,
            index: Rc::downgrade(&self.index),
        }
    }

    /// Waits registered now.
    pub fn len(&self) -> usize {
        self.index.borrow().len()
    }

    /// True when no wait is registered.
    pub fn is_empty(&self) -> bool {
        self.index.borrow().is_empty()
    }

    /// The waits kept under `index`, for delivery outside the borrow (waking may run code that
    /// registers or drops waits).
    fn under(&self, index: &str) -> Vec<Rc<Mailbox>> {
        self.index
            .borrow()
            .get(key_hash(index))
            // Another key may have the same hash.
            .filter(|m| m.key.index() == index)
            .cloned()
            .collect()
    }

    /// Delivers `status` to every wait on its id (for Gr4vy, on its payment method and token id;
    /// a status without a payment method reaches the waits on its token id); returns how many
    /// it reached. `provider` is the client's: a status of another provider reaches none.
    pub fn notify(&self, provider: Provider, status: &TokenStatus) -> usize {
        if status.provider != provider {
            return 0;
        }
        let payment_method = match &status.fields {
            ProviderFields::Gr4vy {
                payment_method_id, ..
            } => payment_method_id.as_deref(),
            _ => None,
        };
        let candidates = match (provider, payment_method) {
            (Provider::Gr4vy, Some(method)) => self.under(method),
            (Provider::Gr4vy, None) => self.index.borrow().values().cloned().collect(),
            _ => self.under(&status.id),
        };
        let mut reached = 0;
        for mailbox in candidates {
            if *mailbox.key.id == *status.id {
                *mailbox.status.borrow_mut() = Some(Box::new(status.clone()));
                mailbox.wake_if_due();
                reached += 1;
            }
        }
        reached
    }

    /// Makes every wait on a token of `payment_method_id` poll now; returns how many it reached.
    pub fn poll_now(&self, payment_method_id: &str) -> usize {
        let mut reached = 0;
        for mailbox in self.under(payment_method_id) {
            if mailbox.key.payment_method_id.is_some() {
                mailbox.poll_now.set(true);
                mailbox.wake_if_due();
                reached += 1;
            }
        }
        reached
    }

    /// Serves a 2xx Gr4vy list of `payment_method_id`'s tokens to the waits on those tokens that
    /// are sleeping between polls, each the status of its own token (a token the list does not
    /// hold serves nothing: that wait will poll, and learn it is not found). The list is parsed
    /// once, and only when some wait can use it. Returns how many waits it served.
    pub fn serve(&self, payment_method_id: &str, reply: &Reply) -> usize {
        let sleeping: Vec<Rc<Mailbox>> = self
            .under(payment_method_id)
            .into_iter()
            .filter(|m| m.key.payment_method_id.is_some() && m.sleeping())
            .collect();
        if sleeping.is_empty() {
            return 0;
        }
        let Some(listed) = reply.gr4vy_list() else {
            return 0;
        };
        let mut served = 0;
        for mailbox in sleeping {
            if let Some(status) = listed.iter().find(|s| *s.id == *mailbox.key.id) {
                *mailbox.served.borrow_mut() = Some(Box::new(status.clone()));
                mailbox.wake_if_due();
                served += 1;
            }
        }
        served
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::http::Response;
    use crate::status::TokenState;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::task::Wake;

    fn status(provider: Provider, id: &str, state: TokenState, pm: Option<&str>) -> TokenStatus {
        TokenStatus {
            provider,
            id: id.into(),
            state,
            provider_status: None,
            token: None,
            action_url: None,
            reason: None,
            metadata: None,
            fields: match provider {
                Provider::Gr4vy => ProviderFields::Gr4vy {
                    payment_method_id: pm.map(Into::into),
                    payment_service_id: None,
                    created_at: None,
                    updated_at: None,
                },
                _ => ProviderFields::Truemed,
            },
        }
    }

    fn key(id: &str, pm: Option<&str>) -> WaitKey {
        WaitKey {
            id: id.into(),
            payment_method_id: pm.map(Into::into),
        }
    }

    struct Count(AtomicU32);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A waker that counts its calls.
    fn counter() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicU32::new(0)));
        (count.clone(), Waker::from(count))
    }

    fn calls(count: &Arc<Count>) -> u32 {
        count.0.load(Ordering::SeqCst)
    }

    #[test]
    fn a_status_reaches_the_waits_on_its_id_only() {
        let waits = Waits::default();
        let a1 = waits.register(key("a", None));
        let a2 = waits.register(key("a", None));
        let b = waits.register(key("b", None));
        let done = status(Provider::Truemed, "a", TokenState::Succeeded, None);
        assert_eq!(waits.notify(Provider::Truemed, &done), 2);
        assert_eq!(a1.mailbox().take_status(), Some(done.clone()));
        assert_eq!(a2.mailbox().take_status(), Some(done.clone()));
        assert_eq!(a1.mailbox().take_status(), None, "taken once");
        assert_eq!(b.mailbox().take_status(), None);
        assert_eq!(
            waits.notify(Provider::TokenIo, &done),
            0,
            "another provider"
        );
    }

    #[test]
    fn finished_waits_are_forgotten() {
        let waits = Waits::default();
        let a = waits.register(key("a", None));
        let b = waits.register(key("a", None));
        drop(a);
        assert_eq!(waits.len(), 1);
        drop(b);
        let done = status(Provider::Truemed, "a", TokenState::Succeeded, None);
        assert_eq!(waits.notify(Provider::Truemed, &done), 0);
        assert!(waits.is_empty(), "no key is left behind");
    }

    #[test]
    fn gr4vy_matches_payment_method_and_token() {
        let waits = Waits::default();
        let right = waits.register(key("pst", Some("pm1")));
        let other_method = waits.register(key("pst", Some("pm2")));
        let done = status(Provider::Gr4vy, "pst", TokenState::Failed, Some("pm1"));
        assert_eq!(waits.notify(Provider::Gr4vy, &done), 1);
        assert!(right.mailbox().take_status().is_some());
        assert!(other_method.mailbox().take_status().is_none());
        // Without a payment method, the token id alone decides.
        let bare = status(Provider::Gr4vy, "pst", TokenState::Failed, None);
        assert_eq!(waits.notify(Provider::Gr4vy, &bare), 2);
    }

    #[test]
    fn wakers_fire_for_what_they_wait_for_and_once() {
        let waits = Waits::default();
        let wait = waits.register(key("pst", Some("pm")));
        let mailbox = wait.mailbox();
        let (count, waker) = counter();
        assert!(mailbox.arm(WakeOn::Terminal, &waker));
        assert!(!mailbox.sleeping(), "in flight");
        // A report or a poll-now does not cut a request short...
        waits.notify(
            Provider::Gr4vy,
            &status(
                Provider::Gr4vy,
                "pst",
                TokenState::ActionRequired,
                Some("pm"),
            ),
        );
        waits.poll_now("pm");
        assert_eq!(calls(&count), 0);
        // ...a terminal status does, once.
        let done = status(Provider::Gr4vy, "pst", TokenState::Succeeded, Some("pm"));
        waits.notify(Provider::Gr4vy, &done);
        waits.notify(Provider::Gr4vy, &done);
        assert_eq!(calls(&count), 1);
        assert_eq!(
            mailbox.take_status(),
            Some(done),
            "the latest status is kept"
        );
        assert!(mailbox.take_poll_now());
        assert!(!mailbox.take_poll_now());
    }

    #[test]
    fn a_sleep_wakes_for_anything() {
        let waits = Waits::default();
        let wait = waits.register(key("pst", Some("pm")));
        let mailbox = wait.mailbox();
        let (count, waker) = counter();
        assert!(mailbox.arm(WakeOn::Anything, &waker));
        assert!(mailbox.sleeping());
        assert_eq!(waits.poll_now("other"), 0);
        assert_eq!(waits.poll_now("pm"), 1);
        assert_eq!(calls(&count), 1);
        let (count, waker) = counter();
        assert!(
            !mailbox.arm(WakeOn::Anything, &waker),
            "still due: no sleep"
        );
        assert!(mailbox.take_poll_now());
        assert!(mailbox.arm(WakeOn::Anything, &waker));
        mailbox.disarm();
        waits.poll_now("pm");
        assert_eq!(calls(&count), 0, "a disarmed waker is not called");
    }

    fn list(body: &str) -> Reply {
        Reply::new(Response {
            status: 200,
            body: body.as_bytes().to_vec(),
            ..Response::default()
        })
    }

    #[test]
    fn a_list_serves_the_sleeping_waits_on_its_tokens() {
        let waits = Waits::default();
        let a = waits.register(key("a", Some("pm")));
        let b = waits.register(key("b", Some("pm")));
        let busy = waits.register(key("c", Some("pm")));
        let absent = waits.register(key("zz", Some("pm")));
        let elsewhere = waits.register(key("a", Some("pm2")));
        let (count, waker) = counter();
        for wait in [&a, &b, &absent, &elsewhere] {
            assert!(wait.mailbox().arm(WakeOn::Anything, &waker));
        }
        assert!(busy.mailbox().arm(WakeOn::Terminal, &waker));
        let reply = list(
            r#"{"items":[{"id":"a","status":"processing","payment_method_id":"pm"},{"id":"b","status":"succeeded","payment_method_id":"pm"},{"id":"c","status":"succeeded"}]}"#,
        );
        assert_eq!(waits.serve("pm", &reply), 2);
        assert_eq!(calls(&count), 2, "a and b woken");
        assert_eq!(
            a.mailbox().take_served().map(|s| s.state),
            Some(TokenState::Pending)
        );
        assert_eq!(
            b.mailbox().take_served().map(|s| s.state),
            Some(TokenState::Succeeded)
        );
        assert!(
            busy.mailbox().take_served().is_none(),
            "in flight: not served"
        );
        assert!(absent.mailbox().take_served().is_none(), "not listed");
        assert!(elsewhere.mailbox().take_served().is_none());
        // Served statuses are not pushes.
        assert!(a.mailbox().take_status().is_none());
    }

    #[test]
    fn a_list_nobody_can_use_is_not_parsed() {
        let waits = Waits::default();
        let _busy = waits.register(key("a", Some("pm")));
        let reply = list("not json");
        assert_eq!(waits.serve("pm", &reply), 0);
        assert_eq!(waits.serve("other", &reply), 0);
        let sleeping = waits.register(key("b", Some("pm")));
        let (_, waker) = counter();
        sleeping.mailbox().arm(WakeOn::Anything, &waker);
        assert_eq!(
            waits.serve("pm", &reply),
            0,
            "an invalid list serves nobody"
        );
    }
}
