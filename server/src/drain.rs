//! Leaving a load balancer without dropping mail. On SIGTERM the server first *drains*:
//! `/healthz` fails, so the load balancer stops sending, and `/sns` answers 503, so SNS
//! delivers that notification again (to another server) instead of waiting on this one. The
//! listener closes after `MAILVEND_DRAIN`; deliveries in flight then have
//! `MAILVEND_SHUTDOWN_GRACE` to finish. Whatever one cut short is still claimed, and its
//! lease running out lets SNS's next delivery finish it elsewhere.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Clone, Default)]
pub struct Drain(Arc<Inner>);

#[derive(Default)]
struct Inner {
    draining: AtomicBool,
    deliveries: AtomicUsize,
}

/// One `/sns` request being worked on; counted until dropped.
pub struct InFlight(Arc<Inner>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.deliveries.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Drain {
    /// From now on the health check fails and new notifications are turned away.
    pub fn start(&self) {
        self.0.draining.store(true, Ordering::SeqCst);
    }

    pub fn is_draining(&self) -> bool {
        self.0.draining.load(Ordering::SeqCst)
    }

    /// Counts a notification in, or `None` while draining: the caller answers 503.
    pub fn enter(&self) -> Option<InFlight> {
        // Counted before the flag is read, so a drain that starts between the two still sees
        // this delivery in `in_flight`.
        self.0.deliveries.fetch_add(1, Ordering::SeqCst);
        let guard = InFlight(self.0.clone());
        (!self.is_draining()).then_some(guard)
    }

    /// Notifications being delivered now.
    pub fn in_flight(&self) -> usize {
        self.0.deliveries.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draining_turns_new_deliveries_away_and_counts_the_ones_in_flight() {
        let drain = Drain::default();
        let first = drain.enter().expect("accepted before the drain");
        assert_eq!(drain.in_flight(), 1);
        drain.start();
        assert!(drain.is_draining());
        assert!(drain.enter().is_none(), "refused while draining");
        assert_eq!(drain.in_flight(), 1, "a refused one is not counted");
        drop(first);
        assert_eq!(drain.in_flight(), 0);
    }
}
