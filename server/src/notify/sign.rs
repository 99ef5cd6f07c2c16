//! How a webhook receiver knows a notification came from this mailvend and is fresh: an
//! HMAC-SHA256 over the timestamp and the body, with the channel's secret (shown to the admin
//! once, when the channel is made). The timestamp is signed with the body, so a captured
//! notification cannot be sent again later with a new time; a receiver refuses one whose
//! time is far from its clock (`verify`).
//!
//!     X-Mailvend-Timestamp: 1796402426
//!     X-Mailvend-Signature: v1=<hex of HMAC-SHA256(secret, "1796402426." + body)>

use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const TIMESTAMP_HEADER: &str = "X-Mailvend-Timestamp";
pub const SIGNATURE_HEADER: &str = "X-Mailvend-Signature";

/// How far a receiver should accept a timestamp from its own clock, either way.
pub const TOLERANCE_SECS: i64 = 300;

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The `X-Mailvend-Signature` value for `body` sent at `timestamp` (unix seconds).
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let bytes = mac(secret, timestamp, body).finalize().into_bytes();
    format!("v1={}", crate::tokens::hex(&bytes))
}

/// Why a received notification is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The timestamp header is missing or not a number.
    NoTimestamp,
    /// Further than `TOLERANCE_SECS` from the receiver's clock: stale or replayed.
    Stale,
    /// The signature header is missing, not `v1=<hex>`, or does not match.
    BadSignature,
}

/// What a receiver does (the tests' webhook receiver, and docs/api.md's recipe): the
/// signature checked in constant time, the timestamp within `TOLERANCE_SECS` of `now`.
pub fn verify(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), Refused> {
    let ts: i64 = timestamp
        .and_then(|t| t.trim().parse().ok())
        .ok_or(Refused::NoTimestamp)?;
    if now.abs_diff(ts) > TOLERANCE_SECS as u64 {
        return Err(Refused::Stale);
    }
    let hex = signature
        .and_then(|s| s.trim().strip_prefix("v1="))
        .ok_or(Refused::BadSignature)?;
    let given: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect::<Option<_>>()
        .filter(|b: &Vec<u8>| b.len() == 32)
        .ok_or(Refused::BadSignature)?;
    mac(secret, ts, body)
        .verify_slice(&given)
        .map_err(|_| Refused::BadSignature)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test-secret-of-the-channel";
    const BODY: &[u8] = br#"{"event":"dead_letter","id":"n-1"}"#;

    /// RFC 4231's first HMAC-SHA256 case: the construction is the standard one.
    #[test]
    fn the_mac_is_standard_hmac_sha256() {
        let key = [0x0b; 20];
        let mut m = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        m.update(b"Hi There");
        let hex: String = m
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn a_signed_body_verifies_and_any_change_does_not() {
        let ts = 1_796_402_426;
        let sig = signature(SECRET, ts, BODY);
        assert!(sig.starts_with("v1=") && sig.len() == 3 + 64, "{sig}");
        let ok =
            |t: &str, s: &str, body: &[u8], now: i64| verify(SECRET, Some(t), Some(s), body, now);
        let t = ts.to_string();
        assert_eq!(ok(&t, &sig, BODY, ts + 10), Ok(()));
        // Another body, another time (the same signature), another secret.
        assert_eq!(ok(&t, &sig, b"{}", ts), Err(Refused::BadSignature));
        assert_eq!(
            ok(&(ts + 1).to_string(), &sig, BODY, ts),
            Err(Refused::BadSignature)
        );
        assert_eq!(
            verify(b"another secret", Some(&t), Some(&sig), BODY, ts),
            Err(Refused::BadSignature)
        );
        // A captured notification sent again much later.
        assert_eq!(
            ok(&t, &sig, BODY, ts + TOLERANCE_SECS + 1),
            Err(Refused::Stale)
        );
        assert_eq!(
            ok(&t, &sig, BODY, ts - TOLERANCE_SECS - 1),
            Err(Refused::Stale)
        );
        // Malformed headers.
        assert_eq!(
            verify(SECRET, None, Some(&sig), BODY, ts),
            Err(Refused::NoTimestamp)
        );
        assert_eq!(ok("soon", &sig, BODY, ts), Err(Refused::NoTimestamp));
        assert_eq!(
            verify(SECRET, Some(&t), None, BODY, ts),
            Err(Refused::BadSignature)
        );
        assert_eq!(ok(&t, &sig[3..], BODY, ts), Err(Refused::BadSignature));
        assert_eq!(ok(&t, "v1=zz", BODY, ts), Err(Refused::BadSignature));
        assert_eq!(ok(&t, &sig[..40], BODY, ts), Err(Refused::BadSignature));
    }
}
