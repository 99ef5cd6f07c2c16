//! Where SNS signing certificates come from: a pinned directory (files named as the URL's last
//! segment; air-gapped and test deployments never fetch) and an in-memory cache, in front of
//! an optional fetcher. URLs are checked by `sns::cert_file_name` before anything is read.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;

use crate::inbound::sns::{cert_file_name, SnsError};

/// Fetches a certificate from its (already checked) URL.
#[async_trait]
pub trait CertFetcher: Send + Sync + 'static {
    async fn fetch(&self, url: &str) -> Result<Vec<u8>, SnsError>;
}

pub struct CertStore {
    pinned: Option<PathBuf>,
    fetcher: Option<Arc<dyn CertFetcher>>,
    cache: RwLock<HashMap<String, Arc<Vec<u8>>>>,
}

impl CertStore {
    pub fn new(pinned: Option<PathBuf>, fetcher: Option<Arc<dyn CertFetcher>>) -> Self {
        CertStore {
            pinned,
            fetcher,
            cache: RwLock::new(HashMap::new()),
        }
    }

    /// The PEM for `url`: cached, else pinned, else fetched (then cached).
    pub async fn get(&self, url: &str) -> Result<Arc<Vec<u8>>, SnsError> {
        let name = cert_file_name(url)?;
        if let Some(pem) = self.cache.read().expect("cache lock").get(&name) {
            return Ok(pem.clone());
        }
        let pem = match &self.pinned {
            Some(dir) if dir.join(&name).is_file() => tokio::fs::read(dir.join(&name))
                .await
                .map_err(|e| SnsError::Certificate(format!("reading pinned {name}: {e}")))?,
            _ => match &self.fetcher {
                Some(f) => f.fetch(url).await?,
                None => {
                    return Err(SnsError::Certificate(format!(
                        "{name} is not in MAILVEND_SNS_CERT_DIR and fetching is off"
                    )))
                }
            },
        };
        let pem = Arc::new(pem);
        self.cache
            .write()
            .expect("cache lock")
            .insert(name, pem.clone());
        Ok(pem)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    const URL: &str = "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-abc.pem";

    struct Counting(AtomicUsize);

    #[async_trait]
    impl CertFetcher for Counting {
        async fn fetch(&self, _url: &str) -> Result<Vec<u8>, SnsError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(b"fetched".to_vec())
        }
    }

    #[tokio::test]
    async fn pinned_first_then_fetched_once_then_cached() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("SimpleNotificationService-abc.pem"),
            b"pinned",
        )
        .unwrap();
        let fetcher = Arc::new(Counting(AtomicUsize::new(0)));
        let store = CertStore::new(Some(dir.path().to_path_buf()), Some(fetcher.clone()));
        assert_eq!(store.get(URL).await.unwrap().as_slice(), b"pinned");
        assert_eq!(
            fetcher.0.load(Ordering::SeqCst),
            0,
            "a pinned certificate is never fetched"
        );

        let other = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-def.pem";
        assert_eq!(store.get(other).await.unwrap().as_slice(), b"fetched");
        assert_eq!(store.get(other).await.unwrap().as_slice(), b"fetched");
        assert_eq!(
            fetcher.0.load(Ordering::SeqCst),
            1,
            "fetched once, then cached"
        );
    }

    #[tokio::test]
    async fn bad_urls_never_reach_the_disk_or_the_network() {
        let fetcher = Arc::new(Counting(AtomicUsize::new(0)));
        let store = CertStore::new(Some(PathBuf::from("/")), Some(fetcher.clone()));
        // Dot segments are resolved by the URL parser and only the last segment names the
        // file, so a path can never climb out of the pinned directory.
        assert_eq!(
            cert_file_name("https://sns.us-west-2.amazonaws.com/../../etc/passwd.pem").unwrap(),
            "passwd.pem"
        );
        assert!(cert_file_name("https://sns.us-west-2.amazonaws.com/a%2F..%2Fb.pem").is_err());
        for bad in [
            "http://sns.us-west-2.amazonaws.com/x.pem",
            "https://evil.example/x.pem",
        ] {
            assert!(
                matches!(store.get(bad).await, Err(SnsError::CertUrl(_))),
                "{bad}"
            );
        }
        assert_eq!(fetcher.0.load(Ordering::SeqCst), 0);
        let offline = CertStore::new(None, None);
        match offline.get(URL).await {
            Err(SnsError::Certificate(m)) => assert!(m.contains("fetching is off"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
