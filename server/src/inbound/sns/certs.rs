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

    /// The PEM for `url`: cached, else pinned, else fetched (then cached). The cache is keyed
    /// by the whole URL (two regions may serve files of one name) and holds only what parses
    /// as a certificate, so a bad answer is never served again from memory (issue 22 item 4).
    pub async fn get(&self, url: &str) -> Result<Arc<Vec<u8>>, SnsError> {
        let name = cert_file_name(url)?;
        if let Some(pem) = self.cache.read().expect("cache lock").get(url) {
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
        let parses = x509_parser::pem::parse_x509_pem(&pem)
            .ok()
            .is_some_and(|(_, p)| p.parse_x509().is_ok());
        if !parses {
            return Err(SnsError::Certificate(format!(
                "{name} is not a PEM certificate; not cached"
            )));
        }
        let pem = Arc::new(pem);
        self.cache
            .write()
            .expect("cache lock")
            .insert(url.to_string(), pem.clone());
        Ok(pem)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    const URL: &str = "https://sns.us-west-2.amazonaws.com/SimpleNotificationService-abc.pem";

    /// Counts fetches and answers with its body.
    struct Counting(AtomicUsize, Vec<u8>);

    #[async_trait]
    impl CertFetcher for Counting {
        async fn fetch(&self, _url: &str) -> Result<Vec<u8>, SnsError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(self.1.clone())
        }
    }

    fn cert(name: &str) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        rcgen::CertificateParams::new(vec![name.to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap()
            .pem()
            .into_bytes()
    }

    /// Issue 22 item 4: what does not parse is refused and not cached (the next delivery fetches
    /// again), and two regions' files of one name are two cache entries.
    #[tokio::test]
    async fn cert_trust_only_certificates_are_cached_and_by_their_whole_url() {
        let garbage = Arc::new(Counting(AtomicUsize::new(0), b"<html>oops</html>".to_vec()));
        let store = CertStore::new(None, Some(garbage.clone()));
        for _ in 0..2 {
            assert!(matches!(
                store.get(URL).await,
                Err(SnsError::Certificate(_))
            ));
        }
        assert_eq!(
            garbage.0.load(Ordering::SeqCst),
            2,
            "never served from memory"
        );

        let east = cert("sns.amazonaws.com");
        let fetcher = Arc::new(Counting(AtomicUsize::new(0), east.clone()));
        let store = CertStore::new(None, Some(fetcher.clone()));
        let same_name = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem";
        store.get(URL).await.unwrap();
        store.get(same_name).await.unwrap();
        store.get(same_name).await.unwrap();
        assert_eq!(fetcher.0.load(Ordering::SeqCst), 2, "one fetch per URL");
    }

    #[tokio::test]
    async fn pinned_first_then_fetched_once_then_cached() {
        let dir = tempfile::tempdir().unwrap();
        let pinned = cert("pinned.example");
        let fetched = cert("fetched.example");
        std::fs::write(
            dir.path().join("SimpleNotificationService-abc.pem"),
            &pinned,
        )
        .unwrap();
        let fetcher = Arc::new(Counting(AtomicUsize::new(0), fetched.clone()));
        let store = CertStore::new(Some(dir.path().to_path_buf()), Some(fetcher.clone()));
        assert_eq!(*store.get(URL).await.unwrap(), pinned);
        assert_eq!(
            fetcher.0.load(Ordering::SeqCst),
            0,
            "a pinned certificate is never fetched"
        );

        let other = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-def.pem";
        assert_eq!(*store.get(other).await.unwrap(), fetched);
        assert_eq!(*store.get(other).await.unwrap(), fetched);
        assert_eq!(
            fetcher.0.load(Ordering::SeqCst),
            1,
            "fetched once, then cached"
        );
    }

    #[tokio::test]
    async fn bad_urls_never_reach_the_disk_or_the_network() {
        let fetcher = Arc::new(Counting(AtomicUsize::new(0), Vec::new()));
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
