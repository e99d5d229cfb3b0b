//! The I/O seam's runtime (wasm32 only): what runs the core's futures.
//!
//! - **Tasks**: one per call, polled by a small executor of the module's own (the first poll
//!   happens at once, so a call's request goes out before its method returns). A task's state
//!   is one boxed future, with no wrapper around it.
//! - **Promises**: awaiting a JavaScript promise costs one `then` with two bound copies of one
//!   callback made at start-up — not two new closures (each registered with a
//!   `FinalizationRegistry`) per await.
//! - **Time**: every timeout and sleep of every call is an entry of one [`Timers`] queue, served
//!   by a single runtime timer armed for the earliest entry. The timer keeps a Node (or Bun,
//!   Deno) process alive only while a sleep is pending; timeouts of requests in flight don't
//!   need to (the request does), and once nothing is pending it is left to fire unreferenced
//!   rather than cleared and re-armed for every call.

use crate::global::Global;
use crate::timers::{TimerId, Timers};
use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::sync::Arc;
use alloc::task::Wake;
use alloc::vec::Vec;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue);
    #[wasm_bindgen(js_name = queueMicrotask)]
    fn queue_microtask(callback: &Function);
    /// A promise, as awaited here.
    type Awaited;
    /// `promise.then(onFulfilled, onRejected)`, discarding the derived promise's handle.
    #[wasm_bindgen(method, js_name = then)]
    fn then2(this: &Awaited, fulfilled: &Function, rejected: &Function);
    /// A settlement callback.
    type Callback;
    /// `callback.bind(null, key)`.
    #[wasm_bindgen(method, js_name = bind)]
    fn bind_key(this: &Callback, this_arg: &JsValue, key: f64) -> Function;
}

// ---------------------------------------------------------------------------------------------
// Tasks

/// A task: its future (taken out while it is polled) and whether it is in the ready queue. Its
/// waker is made from its index when it is polled, not stored: 10,000 waits are 10,000 tasks.
struct Task {
    future: Option<Pin<Box<dyn Future<Output = ()>>>>,
    queued: bool,
}

struct Executor {
    tasks: Vec<Option<Task>>,
    free: Vec<usize>,
    ready: VecDeque<usize>,
    draining: bool,
    scheduled: bool,
    /// Set while a promise callback or the timer wakes tasks it drains right after: no
    /// microtask is needed for them.
    inline: bool,
    /// Drains the queue from a microtask; made once.
    drain: Option<Function>,
}

static EXECUTOR: Global<Executor> = Global::new(Executor {
    tasks: Vec::new(),
    free: Vec::new(),
    ready: VecDeque::new(),
    draining: false,
    scheduled: false,
    inline: false,
    drain: None,
});

/// The waker of task `index`: the index itself is the waker's data, so a task's waker costs no
/// allocation. A waker outliving its task may poll the next task in that slot once, which a
/// future must (and ours do) take in its stride.
fn task_waker(index: usize) -> Waker {
    // SAFETY: the vtable's functions never dereference the data pointer; it only carries the
    // task's index (and a RawWaker's contract is about the vtable honouring its data).
    unsafe { Waker::from_raw(RawWaker::new(index as *const (), &TASK_WAKER)) }
}

static TASK_WAKER: RawWakerVTable = RawWakerVTable::new(
    |data| RawWaker::new(data, &TASK_WAKER),
    |data| schedule(data as usize),
    |data| schedule(data as usize),
    |_| {},
);

/// Queues task `index`; the queue is drained from a microtask unless it is being drained.
fn schedule(index: usize) {
    let microtask = EXECUTOR.with(|executor| {
        let Some(Some(task)) = executor.tasks.get_mut(index) else {
            return None;
        };
        if task.queued {
            return None;
        }
        task.queued = true;
        executor.ready.push_back(index);
        if executor.draining || executor.scheduled || executor.inline {
            return None;
        }
        executor.scheduled = true;
        Some(
            executor
                .drain
                .get_or_insert_with(|| {
                    Closure::<dyn FnMut()>::new(|| {
                        EXECUTOR.with(|executor| executor.scheduled = false);
                        drain();
                    })
                    .into_js_value()
                    .unchecked_into()
                })
                .clone(),
        )
    });
    if let Some(callback) = microtask {
        queue_microtask(&callback);
    }
}

/// Calls `wakers`, then runs the tasks they woke, at once (from a promise callback or the
/// timer: nothing of the module is on the stack).
fn wake_and_drain(wakers: impl IntoIterator<Item = Waker>) {
    EXECUTOR.with(|executor| executor.inline = true);
    for waker in wakers {
        waker.wake();
    }
    EXECUTOR.with(|executor| executor.inline = false);
    drain();
}

/// Polls queued tasks until none is left (unless already doing so further up the stack).
pub fn drain() {
    let started = EXECUTOR.with(|executor| !core::mem::replace(&mut executor.draining, true));
    if !started {
        return;
    }
    loop {
        let next = EXECUTOR.with(|executor| {
            let index = executor.ready.pop_front()?;
            let task = executor.tasks.get_mut(index)?.as_mut()?;
            task.queued = false;
            Some((index, task.future.take()?, task_waker(index)))
        });
        let Some((index, mut future, waker)) = next else {
            let empty = EXECUTOR.with(|executor| {
                let empty = executor.ready.is_empty();
                if empty {
                    executor.draining = false;
                }
                empty
            });
            if empty {
                return;
            }
            continue;
        };
        let done = future
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_ready();
        let finished = EXECUTOR.with(|executor| {
            if done {
                executor.tasks[index] = None;
                executor.free.push(index);
                Some(future)
            } else {
                if let Some(task) = executor.tasks[index].as_mut() {
                    task.future = Some(future);
                }
                None
            }
        });
        // Dropped outside the borrow: dropping a future may run code that schedules.
        drop(finished);
    }
}

/// Runs `future` as a task: polled at once (or, when a task spawns it, right after), then
/// whenever it is woken.
pub fn spawn(future: impl Future<Output = ()> + 'static) {
    EXECUTOR.with(|executor| {
        let index = match executor.free.pop() {
            Some(index) => index,
            None => {
                executor.tasks.push(None);
                executor.tasks.len() - 1
            }
        };
        executor.tasks[index] = Some(Task {
            future: Some(Box::pin(future)),
            queued: true,
        });
        executor.ready.push_back(index);
    });
    drain();
}

// ---------------------------------------------------------------------------------------------
// Promises

struct Slot {
    generation: u32,
    waiting: bool,
    value: Option<Result<JsValue, JsValue>>,
    waker: Option<Waker>,
}

struct Settlements {
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// The two callbacks, made once: `(key, value)` for a fulfilled and a rejected promise.
    callbacks: Option<(Function, Function)>,
    /// The callback of a timer entry's own runtime timer (requests of their own).
    fire_one: Option<Function>,
}

static SETTLEMENTS: Global<Settlements> = Global::new(Settlements {
    slots: Vec::new(),
    free: Vec::new(),
    callbacks: None,
    fire_one: None,
});

const GENERATION: f64 = 4_294_967_296.0;

/// A settled promise's outcome reaches its slot (if its awaiter still waits), then the tasks it
/// woke run.
fn settled(key: f64, value: JsValue, fulfilled: bool) {
    let slot = (key % GENERATION) as usize;
    let generation = (key / GENERATION) as u32;
    let waker = SETTLEMENTS.with(|settlements| {
        let entry = settlements.slots.get_mut(slot)?;
        if entry.generation != generation || !entry.waiting {
            return None;
        }
        entry.value = Some(if fulfilled { Ok(value) } else { Err(value) });
        entry.waker.take()
    });
    if let Some(waker) = waker {
        wake_and_drain([waker]);
    }
}

fn callbacks() -> (Function, Function) {
    SETTLEMENTS.with(|settlements| {
        settlements
            .callbacks
            .get_or_insert_with(|| {
                let make = |fulfilled: bool| -> Function {
                    Closure::<dyn FnMut(f64, JsValue)>::new(move |key, value| {
                        settled(key, value, fulfilled)
                    })
                    .into_js_value()
                    .unchecked_into()
                };
                (make(true), make(false))
            })
            .clone()
    })
}

/// Awaits a JavaScript promise: its fulfillment value, or its rejection reason.
pub struct Settle {
    promise: Option<Promise>,
    key: Option<(u32, u32)>,
}

impl Settle {
    /// Awaits `promise`.
    pub fn new(promise: Promise) -> Settle {
        Settle {
            promise: Some(promise),
            key: None,
        }
    }
}

impl Future for Settle {
    type Output = Result<JsValue, JsValue>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some((slot, generation)) = self.key {
            let taken = SETTLEMENTS.with(|settlements| {
                let entry = &mut settlements.slots[slot as usize];
                if entry.generation != generation {
                    return None;
                }
                match entry.value.take() {
                    Some(value) => {
                        entry.waiting = false;
                        entry.generation = entry.generation.wrapping_add(1);
                        entry.waker = None;
                        settlements.free.push(slot);
                        Some(value)
                    }
                    None => {
                        if !entry
                            .waker
                            .as_ref()
                            .is_some_and(|w| w.will_wake(cx.waker()))
                        {
                            entry.waker = Some(cx.waker().clone());
                        }
                        None
                    }
                }
            });
            return match taken {
                Some(value) => {
                    self.key = None;
                    Poll::Ready(value)
                }
                None => Poll::Pending,
            };
        }
        let Some(promise) = self.promise.take() else {
            return Poll::Pending;
        };
        let (fulfilled, rejected) = callbacks();
        let (slot, generation) = SETTLEMENTS.with(|settlements| {
            let slot = match settlements.free.pop() {
                Some(slot) => slot,
                None => {
                    settlements.slots.push(Slot {
                        generation: 0,
                        waiting: false,
                        value: None,
                        waker: None,
                    });
                    (settlements.slots.len() - 1) as u32
                }
            };
            let entry = &mut settlements.slots[slot as usize];
            entry.waiting = true;
            entry.value = None;
            entry.waker = Some(cx.waker().clone());
            (slot, entry.generation)
        });
        let key = f64::from(generation) * GENERATION + f64::from(slot);
        let bind = |callback: &Function| {
            callback
                .unchecked_ref::<Callback>()
                .bind_key(&JsValue::NULL, key)
        };
        promise
            .unchecked_ref::<Awaited>()
            .then2(&bind(&fulfilled), &bind(&rejected));
        self.key = Some((slot, generation));
        Poll::Pending
    }
}

impl Drop for Settle {
    fn drop(&mut self) {
        // Given up before the promise settled: the slot goes to the next awaiter, and the late
        // settlement (another generation) is ignored.
        if let Some((slot, generation)) = self.key.take() {
            SETTLEMENTS.with(|settlements| {
                let entry = &mut settlements.slots[slot as usize];
                if entry.generation == generation {
                    entry.waiting = false;
                    entry.value = None;
                    entry.waker = None;
                    entry.generation = entry.generation.wrapping_add(1);
                    settlements.free.push(slot);
                }
            });
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Requests of their own (Cloudflare Workers)

/// Set for a runtime where the I/O started while serving one incoming request belongs to that
/// request (workerd: a timer or fetch of another request's cannot be awaited, and ends when
/// that request does). Then each timer entry gets a runtime timer of its own, a wait woken
/// from another request (a webhook, `notify()`) resumes through a promise of its own, and
/// calls share nothing ([`crate::share::Shared::isolated`]) — so a task only ever runs from
/// its own request's callbacks.
static ISOLATED: Global<bool> = Global::new(false);

/// Switches to requests of their own (the workerd entry does, at load).
#[cfg(feature = "server")]
pub fn isolate() {
    ISOLATED.with(|isolated| *isolated = true);
}

/// True once [`isolate`] was called (never in the browser build: workerd loads the server
/// build, and the browser build leaves the code out).
pub fn isolated() -> bool {
    cfg!(feature = "server") && ISOLATED.with(|isolated| *isolated)
}

struct Doorbells {
    resolve: Vec<Option<Function>>,
    free: Vec<usize>,
}

static DOORBELLS: Global<Doorbells> = Global::new(Doorbells {
    resolve: Vec::new(),
    free: Vec::new(),
});

/// Wakes a task through its own promise: calls the resolve function of doorbell `.0`.
struct Ring(usize);

impl Wake for Ring {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let resolve = DOORBELLS.with(|d| d.resolve.get_mut(self.0).and_then(Option::take));
        if let Some(resolve) = resolve {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    }
}

/// A promise a task made and awaits, and a [`Waker`] that resolves it: whoever wakes the task,
/// it resumes from its own promise's callback.
pub struct Doorbell {
    slot: usize,
    waker: Waker,
    settle: Settle,
}

impl Doorbell {
    /// A new doorbell (call it while the task runs).
    pub fn new() -> Doorbell {
        let mut resolve = None;
        let promise = Promise::new(&mut |res, _| resolve = Some(res));
        let slot = DOORBELLS.with(|d| match d.free.pop() {
            Some(slot) => {
                d.resolve[slot] = resolve;
                slot
            }
            None => {
                d.resolve.push(resolve);
                d.resolve.len() - 1
            }
        });
        Doorbell {
            slot,
            waker: Waker::from(Arc::new(Ring(slot))),
            settle: Settle::new(promise),
        }
    }

    /// What to hand out instead of the task's waker.
    pub fn waker(&self) -> &Waker {
        &self.waker
    }

    /// Registers the task with the doorbell's promise.
    pub fn listen(&mut self, cx: &mut Context<'_>) {
        let _ = Pin::new(&mut self.settle).poll(cx);
    }
}

impl Drop for Doorbell {
    fn drop(&mut self) {
        DOORBELLS.with(|d| {
            d.resolve[self.slot] = None;
            d.free.push(self.slot);
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Time

struct Clock {
    timers: Timers,
    /// The runtime timer: when it fires, its handle, and whether it keeps the process alive.
    armed: Option<(f64, JsValue)>,
    referenced: bool,
    tick: Option<Function>,
}

static CLOCK: Global<Clock> = Global::new(Clock {
    timers: Timers::new(),
    armed: None,
    referenced: false,
    tick: None,
});

/// Now, on the clock timers run on.
pub fn now() -> f64 {
    js_sys::Date::now()
}

/// Calls `handle.ref()` or `handle.unref()` (Node and Bun timers), or `Deno.refTimer(id)` /
/// `Deno.unrefTimer(id)`; browsers and workers have no such thing (nor a process to keep).
fn reference(handle: &JsValue, keep: bool) {
    // Browsers and workers have no process to keep alive: the browser build leaves this out.
    if !cfg!(feature = "server") {
        return;
    }
    let name = if keep { "ref" } else { "unref" };
    if handle.is_object() {
        if let Ok(method) = Reflect::get(handle, &JsValue::from_str(name)) {
            if let Some(method) = method.dyn_ref::<Function>() {
                let _ = method.call0(handle);
            }
        }
        return;
    }
    let deno = Reflect::get(&js_sys::global(), &JsValue::from_str("Deno")).ok();
    if let Some(deno) = deno.filter(JsValue::is_object) {
        let name = if keep { "refTimer" } else { "unrefTimer" };
        if let Ok(method) = Reflect::get(&deno, &JsValue::from_str(name)) {
            if let Some(method) = method.dyn_ref::<Function>() {
                let _ = method.call1(&deno, handle);
            }
        }
    }
}

impl Clock {
    /// Arms the runtime timer for `at` (a little late rather than early).
    fn arm(&mut self, at: f64) {
        if let Some((_, handle)) = self.armed.take() {
            clear_timeout(&handle);
        }
        let tick = self
            .tick
            .get_or_insert_with(|| {
                Closure::<dyn FnMut()>::new(fire)
                    .into_js_value()
                    .unchecked_into()
            })
            .clone();
        let delay = (at - now()).clamp(0.0, 2_147_483_647.0) + 1.0;
        let handle = set_timeout(&tick, delay);
        // A new timer keeps a process alive.
        self.referenced = true;
        self.armed = Some((at, handle));
        self.reference();
    }

    /// Keeps the process alive exactly while a sleep is pending.
    fn reference(&mut self) {
        let keep = self.timers.keeps_alive();
        if keep != self.referenced {
            if let Some((_, handle)) = &self.armed {
                reference(handle, keep);
            }
            self.referenced = keep;
        }
    }
}

/// The runtime timer fired: wake what is due, arm for the next entry, run the woken tasks.
fn fire() {
    let due = CLOCK.with(|clock| {
        clock.armed = None;
        let due = clock.timers.expire(now());
        if let Some(next) = clock.timers.next_due() {
            clock.arm(next);
        }
        due
    });
    wake_and_drain(due);
}

/// An entry of the timer queue, removed when dropped (with its own runtime timer, when
/// requests are [`isolated`]).
pub struct Timer(TimerId, Option<JsValue>);

/// The runtime timer of one entry fired (requests of their own).
fn fire_one(key: f64) {
    let due = CLOCK.with(|clock| clock.timers.fire(TimerId::from_key(key)));
    wake_and_drain(due);
}

impl Timer {
    /// Wakes `waker` at `at`; `keeps_alive` for a sleep (not for a timeout of something in
    /// flight).
    pub fn at(at: f64, keeps_alive: bool, waker: &Waker) -> Timer {
        if isolated() {
            let id = CLOCK.with(|clock| clock.timers.insert(at, keeps_alive, waker.clone()));
            let callback: Function = SETTLEMENTS.with(|s| {
                s.fire_one
                    .get_or_insert_with(|| {
                        Closure::<dyn FnMut(f64)>::new(fire_one)
                            .into_js_value()
                            .unchecked_into()
                    })
                    .clone()
            });
            let bound = callback
                .unchecked_ref::<Callback>()
                .bind_key(&JsValue::NULL, id.key());
            let delay = (at - now()).clamp(0.0, 2_147_483_647.0) + 1.0;
            return Timer(id, Some(set_timeout(&bound, delay)));
        }
        CLOCK.with(|clock| {
            let id = clock.timers.insert(at, keeps_alive, waker.clone());
            match clock.armed {
                Some((armed, _)) if armed <= at => clock.reference(),
                _ => clock.arm(at),
            }
            Timer(id, None)
        })
    }

    /// True once its time has come.
    pub fn fired(&self) -> bool {
        CLOCK.with(|clock| clock.timers.fired(self.0))
    }

    /// The task polling it now.
    pub fn set_waker(&self, waker: &Waker) {
        CLOCK.with(|clock| clock.timers.set_waker(self.0, waker));
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let Some(handle) = self.1.take() {
            clear_timeout(&handle);
        }
        CLOCK.with(|clock| {
            clock.timers.remove(self.0);
            clock.reference();
        });
    }
}
