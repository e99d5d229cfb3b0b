//! Module-wide mutable state on wasm32 without `std`'s `thread_local!` (the package is built
//! without `std`): a `RefCell` that may live in a `static`.

use core::cell::RefCell;

#[cfg(target_feature = "atomics")]
compile_error!("token-status keeps module-wide state in `Global`, which assumes one thread");

/// A `RefCell` usable as a `static`, borrowed only inside [`Global::with`].
pub struct Global<T>(RefCell<T>);

// SAFETY: wasm32 without the `atomics` target feature (checked above) has exactly one thread,
// so a `Global` is never reached from two threads.
unsafe impl<T> Sync for Global<T> {}

impl<T> Global<T> {
    /// A global holding `value`.
    pub const fn new(value: T) -> Global<T> {
        Global(RefCell::new(value))
    }

    /// Runs `f` with the value borrowed mutably. `f` must not reach this global again.
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        f(&mut self.0.borrow_mut())
    }
}
