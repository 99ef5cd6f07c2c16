//! API tokens: `mvt_<id>_<secret>`. The id names the token in lists and logs; the secret is
//! 32 random bytes, shown once and stored only as a SHA-256 digest. A digest is enough
//! (no slow hash) because the secret is random, not a password a person chose.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::secret::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// May vend and read mappings: what an account-vending pipeline needs.
    Vend,
    /// Everything the REST API offers.
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Vend => "vend",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(v: &str) -> Option<Scope> {
        match v {
            "vend" => Some(Scope::Vend),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }
}

/// A token as stored and listed (never with its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub scope: Scope,
    pub created_at: String,
    pub created_by: String,
    pub revoked_at: Option<String>,
    /// RFC 3339; past it the token proves nothing.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// RFC 3339, to the minute: written at most once a minute per token.
    #[serde(default)]
    pub last_used_at: Option<String>,
}

impl ApiToken {
    /// Neither revoked nor expired at `now` (RFC 3339, UTC: compared as text).
    pub fn usable(&self, now: &str) -> bool {
        self.revoked_at.is_none() && self.expires_at.as_deref().is_none_or(|e| now < e)
    }
}

const PREFIX: &str = "mvt_";

/// A fresh id and secret.
/// The token text is a `Secret`: shown once, never in a log.
pub fn generate() -> (String, Secret) {
    let mut rng = rand::rng();
    let mut id = [0u8; 6];
    let mut secret = [0u8; 32];
    rng.fill_bytes(&mut id);
    rng.fill_bytes(&mut secret);
    let id = hex(&id);
    let text = format!("{PREFIX}{id}_{}", URL_SAFE_NO_PAD.encode(secret));
    (id, Secret::new(text))
}

/// `bytes` random bytes as URL-safe text (one-time login tokens and the like).
pub fn random_text(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// The digest stored for a token text.
pub fn digest(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Whether `token` has the shape of one of ours, so a malformed header is refused before
/// any lookup.
pub fn well_formed(token: &str) -> bool {
    token
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('_'))
        .is_some_and(|(id, secret)| {
            id.len() == 12
                && id.bytes().all(|b| b.is_ascii_hexdigit())
                && secret.len() == 43
                && secret
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// `bytes` random bytes as lower-case hex (ids, and webhook signing secrets).
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex(&buf)
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_well_formed_unique_and_hidden() {
        let (id, a) = generate();
        let (_, b) = generate();
        assert!(well_formed(a.expose()), "{}", a.expose());
        assert!(a.expose().starts_with(&format!("mvt_{id}_")));
        assert_ne!(a.expose(), b.expose());
        assert_eq!(format!("{a:?}"), "Secret(***)");
        assert_eq!(format!("{a}"), "***");
        assert_eq!(digest(a.expose()).len(), 64);
        assert_ne!(digest(a.expose()), digest(b.expose()));
    }

    #[test]
    fn malformed_tokens_are_recognised() {
        let (_, t) = generate();
        let good = t.expose();
        for bad in [
            "",
            "mvt_",
            "Bearer x",
            &good[..good.len() - 1],
            &good.replace("mvt_", "mvx_"),
            &format!("{good}x"),
            &good.replacen('_', "-", 2),
        ] {
            assert!(!well_formed(bad), "{bad:?}");
        }
    }
}
