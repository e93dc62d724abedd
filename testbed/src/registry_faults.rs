//! Failure knobs of the crates.io, RubyGems.org and NuGet.org exchange endpoints, for testing how a client
//! retries: the next N exchange requests are answered with a chosen status (a 5xx, or 429 with `Retry-After: 1`)
//! before any check runs, and are recorded like other refusals.

use std::sync::{Arc, Mutex, PoisonError};

#[derive(Debug, Default)]
struct State {
    remaining: u32,
    status: u16,
}

/// A handle on one registry's exchange failure knobs; clones share the same knobs.
#[derive(Debug, Clone, Default)]
pub struct RegistryFaults(Arc<Mutex<State>>);

impl RegistryFaults {
    /// Answers the next `count` exchange requests with `status` (e.g. 500, 502, 503, or 429, which also carries
    /// `Retry-After: 1`), then behaves again.
    pub fn fail_next_exchanges(&self, count: u32, status: u16) {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        state.remaining = count;
        state.status = status;
    }

    /// Removes any pending failures.
    pub fn clear(&self) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remaining = 0;
    }

    /// How many failures are still pending.
    pub fn pending_failures(&self) -> u32 {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remaining
    }

    /// The status to fail the current request with, if one is pending.
    pub(crate) fn next(&self) -> Option<u16> {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        (state.remaining > 0).then(|| {
            state.remaining -= 1;
            state.status
        })
    }
}

/// The status of an injected failure, with `Retry-After: 1` for 429.
pub(crate) fn decorate(status: u16, response: &mut axum::response::Response) {
    if status == 429 {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("1"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_run_out() {
        let faults = RegistryFaults::default();
        faults.fail_next_exchanges(2, 503);
        assert_eq!(
            (faults.next(), faults.next(), faults.next()),
            (Some(503), Some(503), None)
        );
        faults.fail_next_exchanges(1, 429);
        faults.clear();
        assert_eq!(faults.pending_failures(), 0);
    }
}
