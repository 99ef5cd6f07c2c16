//! SNS's side of the network: signing certificates and subscription confirmations, fetched
//! over HTTPS only, following no redirects, with a time limit and a size cap.

use std::time::Duration;

use async_trait::async_trait;

use super::certs::CertFetcher;
use super::SnsError;

/// Confirms a subscription by visiting its `SubscribeURL` (already checked to be SNS's).
#[async_trait]
pub trait Confirmer: Send + Sync + 'static {
    async fn confirm(&self, url: &str) -> Result<(), String>;
}

/// The real network side: fetches signing certificates and confirms subscriptions over
/// HTTPS, following no redirects (a redirect could leave SNS's hosts).
pub struct SnsHttps {
    client: reqwest::Client,
}

impl SnsHttps {
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .https_only(true)
            .build()
            .expect("an HTTPS client with static settings builds");
        SnsHttps { client }
    }

    async fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        let response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()));
        }
        // Certificates and confirmation answers are a few KB.
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        if body.len() > 64 * 1024 {
            return Err(format!("{url} answered with {} bytes", body.len()));
        }
        Ok(body.to_vec())
    }
}

impl Default for SnsHttps {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl CertFetcher for SnsHttps {
    async fn fetch(&self, url: &str) -> Result<Vec<u8>, SnsError> {
        self.get(url).await.map_err(SnsError::CertFetch)
    }
}

#[async_trait]
impl Confirmer for SnsHttps {
    async fn confirm(&self, url: &str) -> Result<(), String> {
        self.get(url).await.map(|_| ())
    }
}
