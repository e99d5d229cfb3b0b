//! Waits in flight, so that a status learned elsewhere — a verified webhook, or `notify()` —
//! reaches them at once: a terminal status ends a wait, any other is reported through its
//! `onUpdate`, and a Gr4vy payment-method event makes the waits on that payment method poll now
//! instead of sleeping out their interval. Everything here is pure: the I/O seam only hands in
//! the closures that wake a sleeping timer or cut an in-flight request short.

use crate::status::{Provider, ProviderFields, TokenStatus};
use alloc::boxed::Box;
use alloc::rc::{Rc, Weak};
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};

/// What a wait is waiting on: the id it polls, and for Gr4vy the payment method its token
/// belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitKey {
    /// Truemed provision token request id, Gr4vy payment service token id, Token.io token
    /// request id: the `id` of the statuses the wait resolves with.
    pub id: String,
    /// The Gr4vy payment method (`None` for the other providers).
    pub payment_method_id: Option<String>,
}

/// What may wake a suspended wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WakeOn {
    /// Only a terminal status: used while a request is in flight (a report or a "poll now" can
    /// wait for its answer).
    Terminal,
    /// Any pushed status or a "poll now": used while the wait sleeps between polls.
    Anything,
}

/// Wakes a suspended wait: resolves its timer's promise, or aborts its request.
pub type Waker = Box<dyn Fn()>;

/// One wait's mailbox: what was pushed to it since it last looked, and how to wake it.
pub struct Mailbox {
    key: WaitKey,
    status: RefCell<Option<TokenStatus>>,
    poll_now: Cell<bool>,
    waker: RefCell<Option<(WakeOn, Waker)>>,
}

impl Mailbox {
    /// The latest status pushed since the last call, if any.
    pub fn take_status(&self) -> Option<TokenStatus> {
        self.status.borrow_mut().take()
    }

    /// True once after a "poll now".
    pub fn take_poll_now(&self) -> bool {
        self.poll_now.replace(false)
    }

    /// True when what is waiting in the box would wake a suspension of kind `on`.
    pub fn would_wake(&self, on: WakeOn) -> bool {
        match &*self.status.borrow() {
            Some(status) if status.terminal() => true,
            Some(_) => on == WakeOn::Anything,
            None => on == WakeOn::Anything && self.poll_now.get(),
        }
    }

    /// Sets the closure that wakes the wait's current suspension, until [`Mailbox::disarm`].
    /// Returns false, setting nothing, when the box already holds something that would wake
    /// it: the caller then does not suspend at all.
    pub fn arm(&self, on: WakeOn, waker: Waker) -> bool {
        if self.would_wake(on) {
            return false;
        }
        *self.waker.borrow_mut() = Some((on, waker));
        true
    }

    /// Forgets the waker (the suspension ended by itself).
    pub fn disarm(&self) {
        self.waker.borrow_mut().take();
    }

    /// Calls the waker, once, when what the box now holds is what it waits for.
    fn wake_if_due(&self) {
        let due = matches!(&*self.waker.borrow(), Some((on, _)) if self.would_wake(*on));
        if due {
            // Taken out first: waking runs JavaScript, which may arm again.
            let waker = self.waker.borrow_mut().take();
            if let Some((_, wake)) = waker {
                wake();
            }
        }
    }
}

/// The waits in flight on one client. A wait registers when it starts and is forgotten when its
/// mailbox is dropped (it resolved, rejected or was aborted).
#[derive(Default)]
pub struct Waits {
    live: RefCell<Vec<Weak<Mailbox>>>,
}

impl Waits {
    /// Registers a wait on `key`; keep the mailbox for as long as the wait runs.
    pub fn register(&self, key: WaitKey) -> Rc<Mailbox> {
        let mailbox = Rc::new(Mailbox {
            key,
            status: RefCell::new(None),
            poll_now: Cell::new(false),
            waker: RefCell::new(None),
        });
        let mut live = self.live.borrow_mut();
        live.retain(|w| w.strong_count() > 0);
        live.push(Rc::downgrade(&mailbox));
        mailbox
    }

    /// The waits still running, for delivery outside the borrow (waking runs JavaScript).
    fn running(&self) -> Vec<Rc<Mailbox>> {
        let mut live = self.live.borrow_mut();
        live.retain(|w| w.strong_count() > 0);
        live.iter().filter_map(Weak::upgrade).collect()
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
        let mut reached = 0;
        for mailbox in self.running() {
            let key = &mailbox.key;
            let same_method = match (payment_method, key.payment_method_id.as_deref()) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            };
            if key.id == status.id && same_method {
                *mailbox.status.borrow_mut() = Some(status.clone());
                mailbox.wake_if_due();
                reached += 1;
            }
        }
        reached
    }

    /// Makes every wait on a token of `payment_method_id` poll now; returns how many it reached.
    pub fn poll_now(&self, payment_method_id: &str) -> usize {
        let mut reached = 0;
        for mailbox in self.running() {
            if mailbox.key.payment_method_id.as_deref() == Some(payment_method_id) {
                mailbox.poll_now.set(true);
                mailbox.wake_if_due();
                reached += 1;
            }
        }
        reached
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::status::TokenState;

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

    /// A waker that counts its calls.
    fn counter() -> (Rc<Cell<u32>>, Waker) {
        let count = Rc::new(Cell::new(0));
        let inner = count.clone();
        (count, Box::new(move || inner.set(inner.get() + 1)))
    }

    #[test]
    fn a_status_reaches_the_waits_on_its_id_only() {
        let waits = Waits::default();
        let a1 = waits.register(key("a", None));
        let a2 = waits.register(key("a", None));
        let b = waits.register(key("b", None));
        let done = status(Provider::Truemed, "a", TokenState::Succeeded, None);
        assert_eq!(waits.notify(Provider::Truemed, &done), 2);
        assert_eq!(a1.take_status(), Some(done.clone()));
        assert_eq!(a2.take_status(), Some(done.clone()));
        assert_eq!(a1.take_status(), None, "taken once");
        assert_eq!(b.take_status(), None);
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
        drop(a);
        let done = status(Provider::Truemed, "a", TokenState::Succeeded, None);
        assert_eq!(waits.notify(Provider::Truemed, &done), 0);
        assert!(waits.live.borrow().is_empty());
    }

    #[test]
    fn gr4vy_matches_payment_method_and_token() {
        let waits = Waits::default();
        let right = waits.register(key("pst", Some("pm1")));
        let other_method = waits.register(key("pst", Some("pm2")));
        let done = status(Provider::Gr4vy, "pst", TokenState::Failed, Some("pm1"));
        assert_eq!(waits.notify(Provider::Gr4vy, &done), 1);
        assert!(right.take_status().is_some());
        assert!(other_method.take_status().is_none());
        // Without a payment method, the token id alone decides.
        let bare = status(Provider::Gr4vy, "pst", TokenState::Failed, None);
        assert_eq!(waits.notify(Provider::Gr4vy, &bare), 2);
    }

    #[test]
    fn wakers_fire_for_what_they_wait_for_and_once() {
        let waits = Waits::default();
        let mailbox = waits.register(key("pst", Some("pm")));
        let (calls, waker) = counter();
        assert!(mailbox.arm(WakeOn::Terminal, waker));
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
        assert_eq!(calls.get(), 0);
        // ...a terminal status does, once.
        let done = status(Provider::Gr4vy, "pst", TokenState::Succeeded, Some("pm"));
        waits.notify(Provider::Gr4vy, &done);
        waits.notify(Provider::Gr4vy, &done);
        assert_eq!(calls.get(), 1);
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
        let mailbox = waits.register(key("pst", Some("pm")));
        let (calls, waker) = counter();
        assert!(mailbox.arm(WakeOn::Anything, waker));
        assert_eq!(waits.poll_now("other"), 0);
        assert_eq!(waits.poll_now("pm"), 1);
        assert_eq!(calls.get(), 1);
        let (calls, waker) = counter();
        assert!(!mailbox.arm(WakeOn::Anything, waker), "still due: no sleep");
        assert!(mailbox.take_poll_now());
        let (_, waker) = counter();
        assert!(mailbox.arm(WakeOn::Anything, waker));
        mailbox.disarm();
        waits.poll_now("pm");
        assert_eq!(calls.get(), 0, "a disarmed waker is not called");
    }
}
