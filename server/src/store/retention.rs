//! Message-log retention (`MAILVEND_RETENTION_DAYS`): settled records older than that, and
//! the raw messages kept for them, are purged at start and then hourly, with expired sessions.

use std::time::{Duration, SystemTime};

use crate::store::MessageStore;

const EVERY: Duration = Duration::from_secs(3600);

/// Records are kept this much past the retention period. `MAILVEND_SNS_MAX_AGE` may equal it,
/// and a record's `received_at` (SES's time) comes before the notification's signed
/// `Timestamp` (SNS's), so without a margin a notification could still be young enough to
/// accept when its dedupe record had just gone (issue 22 item 3).
pub const MARGIN: Duration = Duration::from_secs(3600);

/// The RFC 3339 time before which records go: `days` and the margin ago.
pub fn cutoff(now: SystemTime, days: u32) -> String {
    let age = Duration::from_secs(u64::from(days) * 86_400) + MARGIN;
    crate::clock::before(now, age)
}

/// Purges once; the count is logged.
pub async fn purge_once(store: &dyn MessageStore, days: u32) {
    let before = cutoff(SystemTime::now(), days);
    match store.purge(&before).await {
        Ok(0) => tracing::debug!(%before, "retention: nothing to purge"),
        Ok(n) => tracing::info!(%before, purged = n, "retention: purged old message records"),
        Err(e) => tracing::warn!(error = %e, "retention: purge failed; will try again"),
    }
}

/// Runs for the life of the server; expired sign-in sessions go at the same time.
pub async fn run(stores: crate::store::Stores, days: u32) {
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tick.tick().await;
        purge_once(&*stores.messages, days).await;
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        if let Err(e) = stores.sessions.purge_sessions(now).await {
            tracing::warn!(error = %e, "purging expired sessions failed; will try again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_is_that_many_days_and_the_margin_back() {
        let now = humantime::parse_rfc3339("2026-11-25T10:00:00Z").unwrap();
        assert_eq!(cutoff(now, 30), "2026-10-26T09:00:00.000Z");
        assert_eq!(cutoff(now, 1), "2026-11-24T09:00:00.000Z");
        assert_eq!(cutoff(now, 0), "2026-11-25T09:00:00.000Z");
    }
}
