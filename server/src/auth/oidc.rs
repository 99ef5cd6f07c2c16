//! The OpenID Connect authorization-code flow with PKCE, state and nonce (openidconnect
//! crate): discovery, the authorization URL, and the callback's code exchange and id-token
//! checks (signature, issuer, audience, expiry, nonce).

use app::auth::{Role, Viewer};
use base64::Engine as _;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, SignatureVerificationError, TokenResponse,
};
use serde::{Deserialize, Serialize};

use crate::config::OidcConfig;

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// What the callback needs to finish a login, kept in the session meanwhile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    /// Where to go afterwards (a local path).
    pub next: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("the identity provider cannot be reached: {0}")]
    Provider(String),
    #[error("the sign-in response does not belong to this sign-in (state mismatch)")]
    State,
    #[error("the identity provider refused the code: {0}")]
    Exchange(String),
    #[error("the id token is not valid: {0}")]
    IdToken(String),
    #[error("the identity provider did not give a verified email address")]
    NoVerifiedEmail,
}

pub struct Oidc {
    /// Replaced when the provider's keys change (see `finish`).
    client: std::sync::RwLock<Client>,
    config: OidcConfig,
    redirect: url::Url,
    http: reqwest::Client,
    admin_groups: Vec<String>,
    admin_emails: Vec<String>,
    /// When the keys were last read again, so a flood of unknown key ids reads them at most
    /// once per `REFRESH_EVERY`.
    refreshed: std::sync::Mutex<Option<std::time::Instant>>,
}

/// The least time between two reads of the provider's keys.
const REFRESH_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// The provider's discovery document and keys, as a client.
async fn client_for(
    cfg: &OidcConfig,
    redirect: &url::Url,
    http: &reqwest::Client,
) -> Result<Client, LoginError> {
    let issuer = IssuerUrl::new(cfg.issuer.to_string().trim_end_matches('/').to_string())
        .map_err(|e| LoginError::Provider(e.to_string()))?;
    let metadata = CoreProviderMetadata::discover_async(issuer, http)
        .await
        .map_err(|e| LoginError::Provider(format!("discovery: {e}")))?;
    Ok(CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(cfg.client_id.clone()),
        Some(ClientSecret::new(cfg.client_secret.expose().to_string())),
    )
    .set_redirect_uri(
        RedirectUrl::new(redirect.to_string()).map_err(|e| LoginError::Provider(e.to_string()))?,
    ))
}

impl Oidc {
    /// Reads the issuer's discovery document.
    pub async fn discover(
        cfg: &OidcConfig,
        redirect: url::Url,
        admin_groups: Vec<String>,
        admin_emails: Vec<String>,
    ) -> Result<Oidc, LoginError> {
        // No redirects: a token endpoint that redirects could send the code elsewhere.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| LoginError::Provider(e.to_string()))?;
        let client = client_for(cfg, &redirect, &http).await?;
        Ok(Oidc {
            client: std::sync::RwLock::new(client),
            config: cfg.clone(),
            redirect,
            refreshed: std::sync::Mutex::new(None),
            http,
            admin_groups,
            admin_emails: admin_emails
                .into_iter()
                .map(|e| e.to_ascii_lowercase())
                .collect(),
        })
    }

    fn client(&self) -> Client {
        self.client.read().expect("client lock").clone()
    }

    /// Reads the provider's discovery document and keys again; false when they were read
    /// less than `REFRESH_EVERY` ago.
    async fn refresh(&self) -> Result<bool, LoginError> {
        {
            let mut last = self.refreshed.lock().expect("refresh lock");
            if last.is_some_and(|t| t.elapsed() < REFRESH_EVERY) {
                return Ok(false);
            }
            *last = Some(std::time::Instant::now());
        }
        tracing::info!("the id token names an unknown key; reading the provider's keys again");
        let client = client_for(&self.config, &self.redirect, &self.http).await?;
        *self.client.write().expect("client lock") = client;
        Ok(true)
    }

    /// The URL to send the browser to, and what to remember until it comes back.
    pub fn start(&self, next: String) -> (url::Url, PendingLogin) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.client();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        let pending = PendingLogin {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
            next,
        };
        (url, pending)
    }

    /// Exchanges the code and checks the id token; the viewer it names, and whether an admin
    /// group (rather than `MAILVEND_ADMIN_EMAILS`, which is re-read on every request) made
    /// them an admin.
    pub async fn finish(
        &self,
        pending: PendingLogin,
        code: &str,
        state: &str,
    ) -> Result<(Viewer, bool), LoginError> {
        if !constant_time_eq(state.as_bytes(), pending.state.as_bytes()) {
            return Err(LoginError::State);
        }
        let client = self.client();
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| LoginError::Exchange(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| LoginError::Exchange(describe(&e)))?;
        let id_token = response
            .id_token()
            .ok_or_else(|| LoginError::IdToken("the token response has no id_token".into()))?;
        let nonce = Nonce::new(pending.nonce);
        let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(c) => c.clone(),
            // Signed with a key we have not seen: the provider rotated its keys. Read them
            // again (at most every REFRESH_EVERY) and check once more.
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) if self.refresh().await? => {
                let client = self.client();
                let verifier = client.id_token_verifier();
                let claims = id_token
                    .claims(&verifier, &nonce)
                    .map_err(|e| LoginError::IdToken(e.to_string()))?
                    .clone();
                claims
            }
            Err(e) => return Err(LoginError::IdToken(e.to_string())),
        };
        let email = match (claims.email(), claims.email_verified()) {
            (Some(e), Some(true)) => e.as_str().trim().to_ascii_lowercase(),
            _ => return Err(LoginError::NoVerifiedEmail),
        };
        let name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_string());
        // The id token is verified above, so its payload can be read for the groups claim,
        // which is not one openidconnect's standard claims carry.
        let groups = groups_of(&id_token.to_string());
        let by_group = groups.iter().any(|g| self.admin_groups.contains(g));
        let admin = self.admin_emails.contains(&email) || by_group;
        Ok((
            Viewer {
                email,
                name,
                role: if admin { Role::Admin } else { Role::Owner },
            },
            by_group,
        ))
    }
}

/// The `groups` claim of a compact JWT (already verified), or none.
fn groups_of(jwt: &str) -> Vec<String> {
    #[derive(Deserialize)]
    struct Groups {
        #[serde(default)]
        groups: Vec<String>,
    }
    jwt.split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .and_then(|json| serde_json::from_slice::<Groups>(&json).ok())
        .map(|g| g.groups)
        .unwrap_or_default()
}

fn describe<E: std::error::Error>(e: &E) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_come_from_the_payload_and_anything_else_means_none() {
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"sub":"1","groups":["mailvend-admins","staff"]}"#);
        assert_eq!(
            groups_of(&format!("h.{payload}.s")),
            vec!["mailvend-admins", "staff"]
        );
        let none = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"1"}"#);
        assert!(groups_of(&format!("h.{none}.s")).is_empty());
        assert!(groups_of("garbage").is_empty());
        assert!(groups_of("a.!!!.c").is_empty());
    }

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
    }
}
