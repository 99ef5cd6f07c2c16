//! Time as the records keep it: RFC 3339 UTC with milliseconds, which sorts as text, so the
//! stores can order and bound by plain string comparison.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `t` as RFC 3339 UTC with milliseconds.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// Now, as RFC 3339.
pub fn now_rfc3339() -> String {
    rfc3339(SystemTime::now())
}

/// `t` minus `age`, as RFC 3339; the epoch if that is before it (RFC 3339 has no year
/// before 0000, and nothing mailvend keeps is older than the epoch).
pub fn before(t: SystemTime, age: Duration) -> String {
    let earlier = t
        .checked_sub(age)
        .filter(|e| *e >= UNIX_EPOCH)
        .unwrap_or(UNIX_EPOCH);
    rfc3339(earlier)
}

/// Now minus `age`, as `before` says.
pub fn ago(age: Duration) -> String {
    before(SystemTime::now(), age)
}

/// Seconds since the epoch.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// Now plus `span`, as RFC 3339 (a token's expiry).
pub fn later(span: Duration) -> String {
    rfc3339(SystemTime::now() + span)
}

/// Milliseconds since the epoch.
pub fn unix_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_sort_as_text() {
        let t = UNIX_EPOCH + Duration::from_millis(1_764_000_000_123);
        assert_eq!(rfc3339(t), "2025-11-24T16:00:00.123Z");
        assert!(rfc3339(t) < rfc3339(t + Duration::from_millis(1)));
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn ago_never_goes_before_the_epoch() {
        assert_eq!(ago(Duration::from_secs(u64::MAX / 4)), rfc3339(UNIX_EPOCH));
        assert_eq!(
            ago(Duration::from_secs(100 * 365 * 86_400)),
            rfc3339(UNIX_EPOCH)
        );
        let t = UNIX_EPOCH + Duration::from_secs(86_400);
        assert_eq!(
            before(t, Duration::from_secs(3_600)),
            "1970-01-01T23:00:00.000Z"
        );
        assert!(ago(Duration::from_secs(60)) < now_rfc3339());
    }
}
