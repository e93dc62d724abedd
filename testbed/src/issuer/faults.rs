//! Failure knobs of the issuer's token endpoint, for testing how clients cope.

use std::sync::{Arc, Mutex, PoisonError};

/// A standing misbehaviour of the token endpoint, active until [`IssuerFaults::clear`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssuerFault {
    /// Answer 401 as if the request token were wrong, whatever was sent.
    Unauthorized,
    /// Answer an HTML error page (as a proxy in front of the service would) with this status.
    HtmlPage {
        /// The HTTP status to answer with (200 makes the nastiest case: success status, HTML body).
        status: u16,
    },
    /// Answer a well-formed token whose `aud` is this value instead of the requested one.
    WrongAudience(String),
}

/// What the token endpoint does with the current request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Applied {
    /// A transient 500 (one of the "fail next N").
    ServerError,
    /// A standing fault.
    Standing(IssuerFault),
}

#[derive(Debug, Default)]
struct State {
    fail_next: u32,
    standing: Option<IssuerFault>,
}

/// A handle on the issuer's failure knobs; clones share the same knobs.
#[derive(Debug, Clone, Default)]
pub struct IssuerFaults(Arc<Mutex<State>>);

impl IssuerFaults {
    /// Fails the next `count` token requests with 500, then behaves again.
    pub fn fail_next_with_500(&self, count: u32) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fail_next = count;
    }

    /// Sets a standing fault, replacing any previous one.
    pub fn set(&self, fault: IssuerFault) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .standing = Some(fault);
    }

    /// Removes the standing fault and any pending 500s.
    pub fn clear(&self) {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        state.fail_next = 0;
        state.standing = None;
    }

    /// How many 500s are still pending.
    pub fn pending_failures(&self) -> u32 {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fail_next
    }

    /// Decides the fate of one request: pending 500s first, then the standing fault.
    pub(crate) fn next(&self) -> Option<Applied> {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if state.fail_next > 0 {
            state.fail_next -= 1;
            return Some(Applied::ServerError);
        }
        state.standing.clone().map(Applied::Standing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_failures_come_before_the_standing_fault_and_run_out() {
        let faults = IssuerFaults::default();
        faults.fail_next_with_500(2);
        faults.set(IssuerFault::Unauthorized);
        assert_eq!(faults.next(), Some(Applied::ServerError));
        assert_eq!(faults.next(), Some(Applied::ServerError));
        assert_eq!(
            faults.next(),
            Some(Applied::Standing(IssuerFault::Unauthorized))
        );
        faults.clear();
        assert_eq!(faults.next(), None);
    }
}
