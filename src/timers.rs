//! Every timer of the module in one queue, decided without I/O: attempt timeouts and the sleeps
//! of waits and retries register an entry with the task waker to call when it is due; the I/O
//! seam (`fetch.rs`) keeps a single runtime timer armed for the earliest entry, instead of one
//! `setTimeout` (and one JavaScript promise and closure) per sleep and per attempt.
//!
//! Entries that only bound something else in flight (an attempt's timeout: the request itself
//! keeps a process alive) do not count as keeping the runtime alive; sleeps do, so that the I/O
//! seam can let a Node process exit as soon as only timeouts of finished work are left.

use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::cmp::Ordering;
use core::task::Waker;

/// One registered timer: its slot in the queue and the generation of that slot, so that a
/// handle outliving its entry never touches a later one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerId {
    slot: u32,
    generation: u32,
}

impl TimerId {
    /// The id as one number (exact in an `f64`), to hand to a runtime timer's callback.
    pub fn key(self) -> f64 {
        f64::from(self.generation) * 4_294_967_296.0 + f64::from(self.slot)
    }

    /// The id [`TimerId::key`] gave.
    pub fn from_key(key: f64) -> TimerId {
        TimerId {
            slot: (key % 4_294_967_296.0) as u32,
            generation: (key / 4_294_967_296.0) as u32,
        }
    }
}

struct Slot {
    generation: u32,
    /// The task to wake; `None` once fired or free.
    waker: Option<Waker>,
    live: bool,
    fired: bool,
    keeps_alive: bool,
}

/// A due time in the heap (earliest first).
struct Due {
    at: f64,
    id: TimerId,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Due {}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Due {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap, the earliest time must come out first.
        other
            .at
            .total_cmp(&self.at)
            .then_with(|| other.id.slot.cmp(&self.id.slot))
    }
}

/// The queue. Removing an entry is O(1) (its heap item is skipped when it comes up).
#[derive(Default)]
pub struct Timers {
    heap: BinaryHeap<Due>,
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Live, unfired entries that keep the runtime alive.
    alive: usize,
    /// Live entries (the heap also holds removed ones until they come up).
    live: usize,
}

impl Timers {
    /// An empty queue.
    pub const fn new() -> Timers {
        Timers {
            heap: BinaryHeap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            alive: 0,
            live: 0,
        }
    }

    /// Registers an entry due at `at` (on the I/O seam's clock) that wakes `waker`.
    pub fn insert(&mut self, at: f64, keeps_alive: bool, waker: Waker) -> TimerId {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    waker: None,
                    live: false,
                    fired: false,
                    keeps_alive: false,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let entry = &mut self.slots[slot as usize];
        entry.waker = Some(waker);
        entry.live = true;
        entry.fired = false;
        entry.keeps_alive = keeps_alive;
        if keeps_alive {
            self.alive += 1;
        }
        self.live += 1;
        let id = TimerId {
            slot,
            generation: entry.generation,
        };
        self.heap.push(Due { at, id });
        id
    }

    fn entry(&mut self, id: TimerId) -> Option<&mut Slot> {
        self.slots
            .get_mut(id.slot as usize)
            .filter(|s| s.live && s.generation == id.generation)
    }

    /// True once the entry's time has come (see [`Timers::expire`]).
    pub fn fired(&mut self, id: TimerId) -> bool {
        self.entry(id).is_some_and(|s| s.fired)
    }

    /// Replaces the waker of a pending entry (the task was polled again).
    pub fn set_waker(&mut self, id: TimerId, waker: &Waker) {
        if let Some(slot) = self.entry(id) {
            if !slot.fired && !slot.waker.as_ref().is_some_and(|w| w.will_wake(waker)) {
                slot.waker = Some(waker.clone());
            }
        }
    }

    /// Forgets an entry, fired or not.
    pub fn remove(&mut self, id: TimerId) {
        let Some(slot) = self.entry(id) else {
            return;
        };
        let counted = slot.keeps_alive && !slot.fired;
        slot.live = false;
        slot.waker = None;
        slot.generation = slot.generation.wrapping_add(1);
        if counted {
            self.alive -= 1;
        }
        self.live -= 1;
        self.free.push(id.slot);
        // Removed entries wait in the heap until they come up; when they are most of it (many
        // calls that ended long before their timeout), sweep them out so it stays small.
        if self.heap.len() > 64 && self.heap.len() > 2 * self.live {
            let slots = &self.slots;
            self.heap.retain(|d| {
                let slot = &slots[d.id.slot as usize];
                slot.live && slot.generation == d.id.generation
            });
        }
    }

    /// Marks every entry due at or before `now` as fired and returns the wakers to call (the
    /// caller calls them outside any borrow of the queue).
    pub fn expire(&mut self, now: f64) -> Vec<Waker> {
        let mut due = Vec::new();
        while let Some(top) = self.heap.peek() {
            if top.at > now {
                break;
            }
            let id = self.heap.pop().map(|d| d.id);
            let mut counted = false;
            if let Some(slot) = id.and_then(|id| self.entry(id)) {
                if !slot.fired {
                    slot.fired = true;
                    counted = slot.keeps_alive;
                    if let Some(waker) = slot.waker.take() {
                        due.push(waker);
                    }
                }
            }
            if counted {
                self.alive -= 1;
            }
        }
        due
    }

    /// Marks one entry as fired now, whatever its time; returns its waker. For a runtime that
    /// gives each entry a timer of its own.
    pub fn fire(&mut self, id: TimerId) -> Option<Waker> {
        let slot = self.entry(id)?;
        if slot.fired {
            return None;
        }
        slot.fired = true;
        let counted = slot.keeps_alive;
        let waker = slot.waker.take();
        if counted {
            self.alive -= 1;
        }
        waker
    }

    /// When the earliest pending entry is due, if any.
    pub fn next_due(&mut self) -> Option<f64> {
        while let Some(top) = self.heap.peek() {
            let id = top.id;
            let at = top.at;
            if self.entry(id).is_some_and(|s| !s.fired) {
                return Some(at);
            }
            self.heap.pop();
        }
        None
    }

    /// True while a pending entry keeps the runtime alive (a sleep).
    pub fn keeps_alive(&self) -> bool {
        self.alive > 0
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
    use std::task::Wake;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, AtomicOrdering::SeqCst);
        }
    }

    fn counter() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    #[test]
    fn entries_fire_in_time_order_once() {
        let mut timers = Timers::new();
        let (a, wa) = counter();
        let (b, wb) = counter();
        let late = timers.insert(200.0, true, wa);
        let early = timers.insert(100.0, false, wb);
        assert_eq!(timers.next_due(), Some(100.0));
        assert!(timers.keeps_alive());
        for waker in timers.expire(150.0) {
            waker.wake();
        }
        assert_eq!(
            (
                a.0.load(AtomicOrdering::SeqCst),
                b.0.load(AtomicOrdering::SeqCst)
            ),
            (0, 1)
        );
        assert!(timers.fired(early) && !timers.fired(late));
        assert_eq!(timers.next_due(), Some(200.0));
        for waker in timers.expire(200.0) {
            waker.wake();
        }
        assert!(timers.expire(1e9).is_empty(), "fired once");
        assert_eq!(a.0.load(AtomicOrdering::SeqCst), 1);
        assert!(
            !timers.keeps_alive(),
            "a fired sleep no longer keeps it alive"
        );
        assert_eq!(timers.next_due(), None);
    }

    #[test]
    fn removed_entries_never_fire_and_slots_are_reused_safely() {
        let mut timers = Timers::new();
        let (a, wa) = counter();
        let old = timers.insert(100.0, true, wa);
        timers.remove(old);
        assert!(!timers.keeps_alive());
        assert_eq!(timers.next_due(), None);
        let (b, wb) = counter();
        let new = timers.insert(300.0, false, wb);
        // The slot is reused: the old handle must not reach the new entry.
        timers.remove(old);
        assert!(!timers.fired(old));
        for waker in timers.expire(1000.0) {
            waker.wake();
        }
        assert_eq!(a.0.load(AtomicOrdering::SeqCst), 0);
        assert_eq!(b.0.load(AtomicOrdering::SeqCst), 1);
        assert!(timers.fired(new));
        timers.remove(new);
        timers.remove(new);
        assert_eq!(timers.free.len(), 1);
    }

    #[test]
    fn entries_removed_long_before_their_time_do_not_pile_up() {
        let mut timers = Timers::new();
        let (_, waker) = counter();
        let keep = timers.insert(1e9, true, waker.clone());
        for i in 0..10_000 {
            let id = timers.insert(30_000.0 + f64::from(i), false, waker.clone());
            timers.remove(id);
        }
        assert!(
            timers.heap.len() <= 130,
            "{} heap entries",
            timers.heap.len()
        );
        assert_eq!(timers.next_due(), Some(1e9));
        timers.remove(keep);
        assert_eq!(timers.next_due(), None);
    }

    #[test]
    fn one_entry_can_fire_on_its_own() {
        let mut timers = Timers::new();
        let (a, wa) = counter();
        let id = timers.insert(1e9, true, wa);
        assert_eq!(TimerId::from_key(id.key()), id);
        timers.fire(id).unwrap().wake();
        assert!(timers.fire(id).is_none());
        assert!(timers.fired(id) && !timers.keeps_alive());
        assert!(timers.expire(2e9).is_empty());
        assert_eq!(a.0.load(AtomicOrdering::SeqCst), 1);
    }

    #[test]
    fn the_latest_waker_is_called() {
        let mut timers = Timers::new();
        let (a, wa) = counter();
        let (b, wb) = counter();
        let id = timers.insert(10.0, true, wa);
        timers.set_waker(id, &wb);
        for waker in timers.expire(10.0) {
            waker.wake();
        }
        assert_eq!(a.0.load(AtomicOrdering::SeqCst), 0);
        assert_eq!(b.0.load(AtomicOrdering::SeqCst), 1);
    }
}
