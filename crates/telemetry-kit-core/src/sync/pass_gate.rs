//! One pass at a time per engine: a background pass and an explicit `sync()` (or the final
//! pass of `shutdown()`) never send the same pending events twice.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

#[derive(Debug, Default)]
pub struct PassGate {
    busy: Mutex<bool>,
    released: Condvar,
}

/// Held for the duration of a pass; dropping it lets the next one in.
#[derive(Debug)]
pub struct PassTicket<'a> {
    gate: &'a PassGate,
}

impl PassGate {
    pub fn new() -> PassGate {
        PassGate::default()
    }

    fn lock(&self) -> MutexGuard<'_, bool> {
        // The flag is a plain bool: a panicked holder cannot leave it half-written.
        self.busy.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for the running pass to end; None if it still runs at `deadline`.
    pub fn enter(&self, deadline: Option<Instant>) -> Option<PassTicket<'_>> {
        let mut busy = self.lock();
        while *busy {
            busy = match deadline {
                None => self.released.wait(busy).unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.checked_duration_since(Instant::now()).filter(|left| !left.is_zero())?;
                    self.released.wait_timeout(busy, left).unwrap_or_else(PoisonError::into_inner).0
                }
            };
        }
        *busy = true;
        Some(PassTicket { gate: self })
    }
}

impl Drop for PassTicket<'_> {
    fn drop(&mut self) {
        *self.gate.lock() = false;
        self.gate.released.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn second_pass_waits_for_the_first_or_gives_up_at_its_deadline() {
        let gate = PassGate::new();
        let first = gate.enter(None);
        assert!(first.is_some());
        let started = Instant::now();
        assert!(gate.enter(Some(started + Duration::from_millis(50))).is_none());
        assert!(started.elapsed() >= Duration::from_millis(50));
        drop(first);
        assert!(gate.enter(Some(Instant::now())).is_some());
    }

    #[test]
    fn waiting_pass_enters_once_the_first_ends() {
        let gate = std::sync::Arc::new(PassGate::new());
        let held = gate.enter(None);
        assert!(held.is_some());
        let other = std::sync::Arc::clone(&gate);
        let waiter = std::thread::spawn(move || other.enter(Some(Instant::now() + Duration::from_secs(10))).is_some());
        std::thread::sleep(Duration::from_millis(20));
        drop(held);
        assert!(waiter.join().unwrap_or(false));
    }
}
