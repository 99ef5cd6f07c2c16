//! A sign-in in progress, kept in the browser instead of the store (issue 20 item 5): an
//! HttpOnly cookie holding the PKCE verifier, nonce, state and destination, signed with a
//! key derived from the OIDC client secret (which every server copy shares and nobody else
//! knows) and good for ten minutes. Starting a sign-in therefore writes nothing, so a loop
//! of anonymous `GET /auth/login` costs the store nothing.

use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::oidc::PendingLogin;

/// How long a sign-in may take at the identity provider.
pub const MAX_AGE_SECS: i64 = 600;

#[derive(Serialize, Deserialize)]
struct Signed {
    login: PendingLogin,
    /// Unix seconds when the sign-in began (the cookie's Max-Age is the browser's to keep).
    at: i64,
}

pub struct PendingKey(hmac::Key);

impl PendingKey {
    /// The signing key for `secret` (the OIDC client secret), labelled for this use only.
    pub fn derive(secret: &str) -> PendingKey {
        let root = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
        let tag = hmac::sign(&root, b"mailvend pending sign-in cookie v1");
        PendingKey(hmac::Key::new(hmac::HMAC_SHA256, tag.as_ref()))
    }

    /// The cookie value for `login`, begun at `now`.
    pub fn seal(&self, login: &PendingLogin, now: i64) -> String {
        let body = serde_json::to_vec(&Signed {
            login: login.clone(),
            at: now,
        })
        .expect("a pending sign-in serializes");
        let body = URL_SAFE_NO_PAD.encode(body);
        let tag = hmac::sign(&self.0, body.as_bytes());
        format!("{body}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    /// The sign-in `value` holds, if we signed it and it is not older than `MAX_AGE_SECS`.
    pub fn open(&self, value: &str, now: i64) -> Result<PendingLogin, &'static str> {
        let (body, tag) = value.split_once('.').ok_or("not a sign-in cookie")?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| "not a sign-in cookie")?;
        hmac::verify(&self.0, body.as_bytes(), &tag).map_err(|_| "the sign-in cookie is forged")?;
        let json = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| "not a sign-in cookie")?;
        let signed: Signed = serde_json::from_slice(&json).map_err(|_| "not a sign-in cookie")?;
        if now - signed.at > MAX_AGE_SECS || signed.at > now + 60 {
            return Err("the sign-in took too long; start again");
        }
        Ok(signed.login)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login() -> PendingLogin {
        PendingLogin {
            state: "st".into(),
            nonce: "no".into(),
            verifier: "ve".into(),
            next: "/addresses".into(),
        }
    }

    #[test]
    fn only_our_own_fresh_cookies_open() {
        let key = PendingKey::derive("client-secret");
        let sealed = key.seal(&login(), 1000);
        assert_eq!(key.open(&sealed, 1000), Ok(login()));
        assert_eq!(key.open(&sealed, 1000 + MAX_AGE_SECS), Ok(login()));
        assert!(key.open(&sealed, 1001 + MAX_AGE_SECS).is_err(), "too old");
        assert!(
            PendingKey::derive("another-secret")
                .open(&sealed, 1000)
                .is_err(),
            "another key"
        );
        // A changed destination breaks the signature.
        let (body, tag) = sealed.split_once('.').unwrap();
        let mut json: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).unwrap()).unwrap();
        json["login"]["next"] = "//evil.example".into();
        let forged = format!(
            "{}.{tag}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&json).unwrap())
        );
        assert_eq!(key.open(&forged, 1000), Err("the sign-in cookie is forged"));
        for junk in ["", ".", "abc", "a.b.c", "%%%.%%%"] {
            assert!(key.open(junk, 1000).is_err(), "{junk}");
        }
    }
}
