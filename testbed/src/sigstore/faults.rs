//! Failure knobs of the testbed's Fulcio and Rekor, for testing that clients verify what they get back and cope
//! with outages.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

#[derive(Debug, Default)]
struct State {
    bad_sct: bool,
    wrong_log_key: bool,
    expired_certificate: bool,
    fulcio_fail_next: u32,
    rekor_fail_next: u32,
    fulcio_latency: Duration,
    rekor_latency: Duration,
    certificate_lifetime: Option<Duration>,
}

/// A handle on the Sigstore failure knobs; clones share the same knobs. Everything is off by default.
#[derive(Debug, Clone, Default)]
pub struct SigstoreFaults(Arc<Mutex<State>>);

impl SigstoreFaults {
    fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Fulcio embeds an SCT that carries the CT log's ID but is signed by another key, so no verifier accepts the
    /// certificate's SCT.
    pub fn set_bad_sct(&self, on: bool) {
        self.state().bad_sct = on;
    }

    /// Rekor signs SETs and checkpoints with a key that is not in the trusted root (the log ID and key hint still
    /// name the trusted log), so the inclusion promise and checkpoint signatures do not verify.
    pub fn set_wrong_log_key(&self, on: bool) {
        self.state().wrong_log_key = on;
    }

    /// Fulcio issues leaves whose ten-minute validity ended ten minutes ago, so the Rekor integration time falls
    /// outside it.
    pub fn set_expired_certificate(&self, on: bool) {
        self.state().expired_certificate = on;
    }

    /// Fails the next `count` Fulcio requests with 500 (Fulcio's `Internal` error), then behaves again.
    pub fn fail_next_fulcio_requests(&self, count: u32) {
        self.state().fulcio_fail_next = count;
    }

    /// Fails the next `count` Rekor requests with 500, then behaves again.
    pub fn fail_next_rekor_requests(&self, count: u32) {
        self.state().rekor_fail_next = count;
    }

    /// Makes every Fulcio request take at least `fulcio` and every Rekor request at least `rekor` (a service far
    /// away, for benchmarks of how a client overlaps its requests).
    pub fn set_latency(&self, fulcio: Duration, rekor: Duration) {
        let mut state = self.state();
        state.fulcio_latency = fulcio;
        state.rekor_latency = rekor;
    }

    /// Issues leaves valid for `lifetime` instead of Fulcio's ten minutes (`None`: back to ten minutes), so a
    /// client's certificate runs out in the middle of a run.
    pub fn set_certificate_lifetime(&self, lifetime: Option<Duration>) {
        self.state().certificate_lifetime = lifetime;
    }

    /// Turns every knob off.
    pub fn clear(&self) {
        *self.state() = State::default();
    }

    /// Whether the bad-SCT fault is on.
    pub fn bad_sct(&self) -> bool {
        self.state().bad_sct
    }

    /// Whether the wrong-log-key fault is on.
    pub fn wrong_log_key(&self) -> bool {
        self.state().wrong_log_key
    }

    /// Whether the expired-certificate fault is on.
    pub fn expired_certificate(&self) -> bool {
        self.state().expired_certificate
    }

    /// How long each Fulcio request is held before it is answered.
    pub(crate) fn fulcio_latency(&self) -> Duration {
        self.state().fulcio_latency
    }

    /// How long each Rekor request is held before it is answered.
    pub(crate) fn rekor_latency(&self) -> Duration {
        self.state().rekor_latency
    }

    /// The lifetime of the leaves Fulcio issues, when a knob shortened it.
    pub(crate) fn certificate_lifetime(&self) -> Option<Duration> {
        self.state().certificate_lifetime
    }

    /// Consumes one pending Fulcio failure; `true` if this request must fail.
    pub(crate) fn take_fulcio_failure(&self) -> bool {
        take(&mut self.state().fulcio_fail_next)
    }

    /// Consumes one pending Rekor failure; `true` if this request must fail.
    pub(crate) fn take_rekor_failure(&self) -> bool {
        take(&mut self.state().rekor_fail_next)
    }
}

fn take(pending: &mut u32) -> bool {
    if *pending > 0 {
        *pending -= 1;
        true
    } else {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_run_out_and_knobs_clear() {
        let faults = SigstoreFaults::default();
        faults.fail_next_fulcio_requests(2);
        faults.fail_next_rekor_requests(1);
        faults.set_bad_sct(true);
        assert!(faults.take_fulcio_failure());
        assert!(faults.take_fulcio_failure());
        assert!(!faults.take_fulcio_failure());
        assert!(faults.take_rekor_failure());
        assert!(!faults.take_rekor_failure());
        assert!(faults.bad_sct());
        faults.clear();
        assert!(!faults.bad_sct() && !faults.wrong_log_key() && !faults.expired_certificate());
    }
}
