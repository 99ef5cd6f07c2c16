//! The bytes of inbound mail in memory at once (`MAILVEND_INBOUND_BUDGET_MB`, issue 22 item 2).
//! Each message reserves its size before its content is read and holds the reservation until
//! it is settled; when the budget is spent, `/sns` answers 503 and SNS delivers again later,
//! so an outsider sending many large messages at once slows delivery instead of exhausting
//! the task's memory.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A message is held in memory a few times over (its content, the rewritten copy, the
/// mailer's request); the budget counts the content only, so it is sized well under the
/// task's memory (the default, 128 MiB, suits a 1 GiB task; see `DEFAULT_INBOUND_BUDGET_MB`).
#[derive(Debug)]
pub struct Budget {
    permits: Arc<Semaphore>,
    /// In KiB, the semaphore's unit.
    total: u32,
}

/// Bytes reserved in the budget, given back when dropped.
#[derive(Debug)]
pub struct Reservation(#[allow(dead_code)] OwnedSemaphorePermit);

impl Budget {
    pub fn new(bytes: u64) -> Arc<Budget> {
        let total = kib(bytes);
        Arc::new(Budget {
            permits: Arc::new(Semaphore::new(total as usize)),
            total,
        })
    }

    /// Reserves `bytes`, or `None` while too much is in flight. A request bigger than the
    /// whole budget can never be met; configuration keeps the budget above the largest
    /// message SES delivers.
    pub fn try_reserve(&self, bytes: u64) -> Option<Reservation> {
        let want = kib(bytes).max(1);
        if want > self.total {
            return None;
        }
        self.permits
            .clone()
            .try_acquire_many_owned(want)
            .ok()
            .map(Reservation)
    }

    /// Bytes not reserved now, for metrics and tests.
    pub fn available(&self) -> u64 {
        self.permits.available_permits() as u64 * 1024
    }
}

fn kib(bytes: u64) -> u32 {
    u32::try_from(bytes.div_ceil(1024)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_are_given_back_when_dropped() {
        let budget = Budget::new(100 * 1024);
        let a = budget.try_reserve(60 * 1024).unwrap();
        assert!(budget.try_reserve(60 * 1024).is_none(), "over the budget");
        let b = budget.try_reserve(40 * 1024).unwrap();
        assert_eq!(budget.available(), 0);
        drop(a);
        assert_eq!(budget.available(), 60 * 1024);
        assert!(
            budget.try_reserve(101 * 1024).is_none(),
            "never more than the whole"
        );
        drop(b);
        assert!(budget.try_reserve(1).is_some(), "a byte still costs a KiB");
    }
}
