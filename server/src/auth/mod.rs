//! Sign-in (docs/product.md §4): OIDC single sign-on or, with no issuer configured, a local admin
//! link; server-side sessions in the store; the signed-in `Viewer` put in every request, and
//! the guards that use it (pages, Origin checks). Server functions turn the viewer into
//! `app::auth::Admin`/`Owner` proofs; the REST API uses bearer tokens instead (`api::auth`).

pub mod grant;
pub mod guard;
pub mod limits;
pub mod oidc;
pub mod pending;
pub mod routes;
pub mod sessions;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use crate::config::{Config, OidcConfig};
use crate::secret::Secret;
use crate::settings::SessionEpoch;
use crate::store::SessionStore;

/// The CSP of the few plain pages sign-in serves itself (no script; our stylesheet only).
pub const PLAIN_PAGE_CSP: &str =
    "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Session keys.
const VIEWER: &str = "viewer";
const GRANT: &str = "grant";

/// How people sign in.
pub enum Mode {
    /// No identity provider: whoever opens `/auth/local?token=…` is the admin. A generated
    /// token works once; one set in `MAILVEND_LOCAL_LOGIN_TOKEN` works until the restart.
    Local {
        token: Secret,
        one_time: bool,
        used: AtomicBool,
    },
    /// OIDC; the discovery document is read on first use, so the server starts even while
    /// the identity provider is down.
    Sso {
        config: OidcConfig,
        client: Box<tokio::sync::OnceCell<oidc::Oidc>>,
    },
}

pub struct Auth {
    pub mode: Mode,
    /// `scheme://host[:port]` of `MAILVEND_PUBLIC_URL`: what `Origin` must say.
    pub origin: String,
    pub public_url: url::Url,
    pub secure_cookies: bool,
    admin_groups: Vec<String>,
    admin_emails: Vec<String>,
    /// Who signs in through the local-mode link (`MAILVEND_ADMIN_ADDRESS`).
    pub local_admin: String,
    pub sessions: Arc<dyn SessionStore>,
    /// `MAILVEND_SESSION_LIFETIME` in milliseconds.
    pub lifetime_ms: i64,
    pub epoch: Arc<SessionEpoch>,
    /// Signs the pending sign-in cookie (SSO only).
    pending: Option<pending::PendingKey>,
}

impl Auth {
    pub fn new(config: &Config, sessions: Arc<dyn SessionStore>, epoch: Arc<SessionEpoch>) -> Auth {
        let mode = match &config.oidc {
            Some(oidc) => Mode::Sso {
                config: oidc.clone(),
                client: Box::new(tokio::sync::OnceCell::new()),
            },
            None => match &config.local_login_token {
                Some(t) => Mode::Local {
                    token: t.clone(),
                    one_time: false,
                    used: AtomicBool::new(false),
                },
                None => Mode::Local {
                    token: Secret::new(crate::tokens::random_text(32)),
                    one_time: true,
                    used: AtomicBool::new(false),
                },
            },
        };
        Auth {
            mode,
            origin: config.public_url.origin().ascii_serialization(),
            public_url: config.public_url.clone(),
            secure_cookies: config.public_url.scheme() == "https",
            admin_groups: config.admin_groups.clone(),
            admin_emails: config.admin_emails.clone(),
            local_admin: config.admin_address.clone(),
            sessions,
            lifetime_ms: config.session_lifetime.as_millis() as i64,
            epoch,
            pending: config
                .oidc
                .as_ref()
                .map(|o| pending::PendingKey::derive(o.client_secret.expose())),
        }
    }

    /// A cookie's name: with the `__Host-` prefix behind https, so that no other host of the
    /// domain (nor plain http) can set or shadow it.
    pub fn cookie_name(&self, base: &str) -> String {
        if self.secure_cookies {
            format!("__Host-{base}")
        } else {
            base.to_string()
        }
    }

    /// The pending sign-in cookie's value (SSO only).
    pub fn seal_pending(&self, login: &oidc::PendingLogin) -> Option<String> {
        self.pending
            .as_ref()
            .map(|k| k.seal(login, crate::clock::unix_now()))
    }

    /// The sign-in a pending cookie holds, if this server signed it and it is fresh.
    pub fn open_pending(&self, value: &str) -> Result<oidc::PendingLogin, &'static str> {
        self.pending
            .as_ref()
            .ok_or("single sign-on is not configured")?
            .open(value, crate::clock::unix_now())
    }

    /// What the current configuration makes of a signed-in session.
    /// `None` when that cannot be known now (the store does not answer): the request goes on
    /// signed out, and the session is kept for when it does.
    pub async fn judge(
        &self,
        viewer: app::auth::Viewer,
        grant: &grant::Grant,
    ) -> Option<grant::Verdict> {
        let epoch = self.epoch.current().await?;
        let local_admin = match self.mode {
            Mode::Local { .. } => Some(self.local_admin.as_str()),
            Mode::Sso { .. } => None,
        };
        Some(grant::judge(
            viewer,
            grant,
            &grant::Rules {
                now: crate::clock::unix_now_ms(),
                lifetime_ms: self.lifetime_ms,
                epoch,
                admin_emails: &self.admin_emails,
                local_admin,
            },
        ))
    }

    /// The local-mode sign-in link (`None` with SSO).
    pub fn local_login_link(&self) -> Option<String> {
        match &self.mode {
            Mode::Local { token, .. } => {
                let mut url = self.public_url.join("/auth/local").ok()?;
                url.query_pairs_mut().append_pair("token", token.expose());
                Some(url.to_string())
            }
            Mode::Sso { .. } => None,
        }
    }

    /// Checks a local-mode sign-in token; the reason when refused.
    pub fn accept_local(&self, given: &str) -> Result<(), &'static str> {
        let Mode::Local {
            token,
            one_time,
            used,
        } = &self.mode
        else {
            return Err("local sign-in is off: this server uses single sign-on");
        };
        if !oidc::constant_time_eq(given.as_bytes(), token.expose().as_bytes()) {
            return Err("this sign-in link is not valid");
        }
        if *one_time && used.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err("this sign-in link was already used; restart the server for a new one");
        }
        Ok(())
    }

    async fn oidc(&self) -> Result<&oidc::Oidc, oidc::LoginError> {
        let Mode::Sso { config, client } = &self.mode else {
            return Err(oidc::LoginError::Provider(
                "single sign-on is not configured".into(),
            ));
        };
        client
            .get_or_try_init(|| async {
                let redirect = self
                    .public_url
                    .join("/auth/callback")
                    .map_err(|e| oidc::LoginError::Provider(e.to_string()))?;
                oidc::Oidc::discover(
                    config,
                    redirect,
                    self.admin_groups.clone(),
                    self.admin_emails.clone(),
                )
                .await
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(vars: &[(&str, &str)]) -> Auth {
        let config = Config::load(
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())),
            None,
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        // Sessions are not used here; any store will do.
        let store = Arc::new(
            tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(crate::store::sqlite::SqliteStore::open(
                    &dir.path().join("a.db"),
                ))
                .unwrap(),
        );
        Auth::new(&config, store.clone(), Arc::new(SessionEpoch::new(store)))
    }

    fn token_of(link: &str) -> String {
        url::Url::parse(link)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "token")
            .unwrap()
            .1
            .to_string()
    }

    #[test]
    fn a_generated_local_link_works_once() {
        let a = auth(&[]);
        let link = a.local_login_link().unwrap();
        assert!(
            link.starts_with("http://127.0.0.1:3000/auth/local?token="),
            "{link}"
        );
        let token = token_of(&link);
        assert!(token.len() >= 40, "32 random bytes");
        assert_ne!(token, token_of(&auth(&[]).local_login_link().unwrap()));
        assert_eq!(
            a.accept_local("wrong"),
            Err("this sign-in link is not valid")
        );
        assert_eq!(a.accept_local(&token), Ok(()));
        assert!(a.accept_local(&token).unwrap_err().contains("already used"));
    }

    #[test]
    fn a_configured_local_token_works_until_restart_and_sso_has_no_link() {
        let a = auth(&[(
            "MAILVEND_LOCAL_LOGIN_TOKEN",
            "a-configured-token-0123456789abcdef",
        )]);
        assert_eq!(
            a.accept_local("a-configured-token-0123456789abcdef"),
            Ok(())
        );
        assert_eq!(
            a.accept_local("a-configured-token-0123456789abcdef"),
            Ok(())
        );
        assert_eq!(
            a.accept_local("a-configured-token-0123456789abcde"),
            Err("this sign-in link is not valid")
        );
        let sso = auth(&[
            ("MAILVEND_OIDC_ISSUER", "https://idp.example.com"),
            ("MAILVEND_OIDC_CLIENT_ID", "mailvend"),
            ("MAILVEND_OIDC_CLIENT_SECRET", "s3cret"),
            ("MAILVEND_PUBLIC_URL", "https://mailvend.example.com"),
        ]);
        assert_eq!(sso.local_login_link(), None);
        assert!(sso.accept_local("anything").is_err());
        assert!(sso.secure_cookies);
        assert_eq!(sso.origin, "https://mailvend.example.com");
        // Behind https the cookies take the __Host- prefix; on plain http they cannot.
        assert_eq!(
            sso.cookie_name("mailvend_session"),
            "__Host-mailvend_session"
        );
        assert_eq!(a.cookie_name("mailvend_session"), "mailvend_session");
    }
}
