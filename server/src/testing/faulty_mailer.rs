//! A mailer that fails on purpose, then delivers to an outbox.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rand::Rng;

use crate::mailer::{Mailer, Outgoing, SendError};

/// Fails sends the way a throttled or unreachable mailer does, then passes the rest on to
/// the outbox.
pub struct Faulty {
    inner: crate::mailer::outbox::Outbox,
    pub mode: Mutex<Fault>,
    pub sends: AtomicU32,
    /// Once set, every send goes through.
    pub healthy: AtomicBool,
}

pub enum Fault {
    /// The first `n` sends fail transiently.
    FirstTransient(u32),
    Permanent,
    /// Each send fails transiently with this probability (seeded, so a failure replays).
    Random(Box<rand::rngs::StdRng>, f64),
    /// Every send succeeds after this long (a slow SES).
    Slow(std::time::Duration),
}

impl Faulty {
    pub fn new(dir: &Path, mode: Fault) -> Arc<Faulty> {
        Arc::new(Faulty {
            inner: crate::mailer::outbox::Outbox::new(dir),
            mode: Mutex::new(mode),
            sends: AtomicU32::new(0),
            healthy: AtomicBool::new(false),
        })
    }
}

#[async_trait]
impl Mailer for Faulty {
    async fn send(&self, msg: &Outgoing) -> Result<String, SendError> {
        let n = self.sends.fetch_add(1, Ordering::SeqCst);
        if !self.healthy.load(Ordering::SeqCst) {
            let slow = match &*self.mode.lock().unwrap() {
                Fault::Slow(d) => Some(*d),
                _ => None,
            };
            if let Some(d) = slow {
                tokio::time::sleep(d).await;
                return self.inner.send(msg).await;
            }
            let fail = match &mut *self.mode.lock().unwrap() {
                Fault::FirstTransient(k) => {
                    (n < *k).then(|| SendError::Transient("throttled".into()))
                }
                Fault::Permanent => Some(SendError::Permanent("MessageRejected: no".into())),
                Fault::Random(rng, p) => rng
                    .random_bool(*p)
                    .then(|| SendError::Transient("throttled".into())),
                Fault::Slow(_) => None,
            };
            if let Some(e) = fail {
                return Err(e);
            }
        }
        self.inner.send(msg).await
    }
}
