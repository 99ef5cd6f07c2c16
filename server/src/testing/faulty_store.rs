//! A store that fails the calls the forwarding pipeline makes, at random and seeded, the way
//! a throttled or failing-over backend does, and passes everything else through.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use app::model::{AuditEntry, Mapping, MappingCounts, MessageRecord, Page};
use async_trait::async_trait;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::inbound::pipeline::SETTLE_TRIES;
use crate::store::{
    Claim, Kept, MappingChange, MappingFilter, MappingStore, MessageFilter, MessageStore, RawStore,
    S3Object, SettingsStore, StoreError, Stores, VendSpec, Vended, Volume,
};

pub struct FaultyStore {
    inner: Stores,
    rng: Mutex<StdRng>,
    rate: f64,
    /// Faults are injected only while this is set (so a test can set up and read back).
    pub on: AtomicBool,
    pub injected: AtomicU32,
    settle_streaks: Mutex<HashMap<String, u32>>,
    /// Ids whose settle failed as often as the pipeline tries it: the one window where a
    /// message already sent can be sent again by the next delivery (docs/product.md §2.9).
    exhausted: Mutex<HashSet<String>>,
}

/// Where an injected failure happens relative to the real call.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fails {
    /// Before it: nothing was written.
    Before,
    /// After it: the write landed but the caller hears an error, as after a timeout.
    After,
}

impl FaultyStore {
    /// `rate` is the probability of each faulted call failing.
    pub fn new(inner: Stores, rate: f64, seed: u64) -> Arc<FaultyStore> {
        Arc::new(FaultyStore {
            inner,
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            rate,
            on: AtomicBool::new(false),
            injected: AtomicU32::new(0),
            settle_streaks: Mutex::new(HashMap::new()),
            exhausted: Mutex::new(HashSet::new()),
        })
    }

    /// The stores with the pipeline's capabilities (messages, mappings, raw, settings)
    /// faulted and the rest as they were.
    pub fn stores(self: &Arc<Self>) -> Stores {
        Stores {
            health: self.inner.health.clone(),
            mappings: self.clone(),
            tokens: self.inner.tokens.clone(),
            messages: self.clone(),
            raw: self.clone(),
            settings: self.clone(),
            sessions: self.inner.sessions.clone(),
            reachability: self.inner.reachability.clone(),
            accounts: self.inner.accounts.clone(),
            notifications: self.inner.notifications.clone(),
            mail_settings: self.clone(),
            mail_reachability: self.inner.mail_reachability.clone(),
        }
    }

    pub fn exhausted_settles(&self) -> HashSet<String> {
        self.exhausted.lock().unwrap().clone()
    }

    /// Whether this call fails, and where.
    fn roll(&self) -> Option<Fails> {
        if !self.on.load(Ordering::SeqCst) {
            return None;
        }
        let mut rng = self.rng.lock().unwrap();
        if !rng.random_bool(self.rate) {
            return None;
        }
        self.injected.fetch_add(1, Ordering::SeqCst);
        Some(if rng.random_bool(0.5) {
            Fails::Before
        } else {
            Fails::After
        })
    }

    /// Runs `call` with a fault maybe injected before or after it. Only for calls that are
    /// safe to repeat after an unseen success (reads and idempotent writes).
    async fn faulted<T>(
        &self,
        what: &str,
        call: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let fails = self.roll();
        if fails == Some(Fails::Before) {
            return Err(injected(what));
        }
        let out = call.await?;
        match fails {
            Some(Fails::After) => Err(injected(what)),
            _ => Ok(out),
        }
    }
}

fn injected(what: &str) -> StoreError {
    StoreError::Unavailable(format!("injected fault in {what}"))
}

#[async_trait]
impl MessageStore for FaultyStore {
    async fn claim(
        &self,
        record: &MessageRecord,
        lease_until: &str,
        now: &str,
    ) -> Result<Claim, StoreError> {
        // A claim that landed unseen would hold the message for the whole lease (a minute)
        // before a redelivery could take it: correct, but too slow for a test, so claims fail
        // only before the write.
        if self.roll().is_some() {
            return Err(injected("claim"));
        }
        self.inner.messages.claim(record, lease_until, now).await
    }

    async fn settle(&self, record: &MessageRecord) -> Result<(), StoreError> {
        let out = self
            .faulted("settle", self.inner.messages.settle(record))
            .await;
        let mut streaks = self.settle_streaks.lock().unwrap();
        let streak = streaks.entry(record.id.clone()).or_default();
        match out {
            Ok(()) => *streak = 0,
            Err(_) => {
                *streak += 1;
                if *streak >= SETTLE_TRIES {
                    self.exhausted.lock().unwrap().insert(record.id.clone());
                }
            }
        }
        out
    }

    async fn renew(&self, id: &str, attempts: u32, lease_until: &str) -> Result<bool, StoreError> {
        self.inner.messages.renew(id, attempts, lease_until).await
    }

    async fn release(&self, id: &str, now: &str) -> Result<(), StoreError> {
        // Never faulted: a lost release only delays the next delivery by the lease (see claim).
        self.inner.messages.release(id, now).await
    }

    async fn reopen(
        &self,
        id: &str,
        from: app::model::Outcome,
        lease_until: &str,
        now: &str,
    ) -> Result<MessageRecord, StoreError> {
        self.inner.messages.reopen(id, from, lease_until, now).await
    }

    async fn message(&self, id: &str) -> Result<MessageRecord, StoreError> {
        self.inner.messages.message(id).await
    }

    async fn messages(
        &self,
        filter: &MessageFilter,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<MessageRecord>, StoreError> {
        self.inner.messages.messages(filter, limit, cursor).await
    }

    async fn record_delivery(
        &self,
        mailer_message_id: &str,
        status: &app::model::DeliveryStatus,
    ) -> Result<crate::store::DeliveryUpdate, StoreError> {
        self.inner
            .messages
            .record_delivery(mailer_message_id, status)
            .await
    }

    async fn volume(&self, days: &[String], hours: &[String]) -> Result<Volume, StoreError> {
        self.inner.messages.volume(days, hours).await
    }

    async fn purge(&self, cutoff: &str) -> Result<u64, StoreError> {
        self.inner.messages.purge(cutoff).await
    }
}

#[async_trait]
impl MappingStore for FaultyStore {
    async fn vend(&self, spec: &VendSpec) -> Result<Vended, StoreError> {
        self.inner.mappings.vend(spec).await
    }

    async fn get(&self, address: &str) -> Result<Mapping, StoreError> {
        self.faulted("get mapping", self.inner.mappings.get(address))
            .await
    }

    async fn list(
        &self,
        filter: &MappingFilter,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<Mapping>, StoreError> {
        self.inner.mappings.list(filter, limit, cursor).await
    }

    async fn update(
        &self,
        address: &str,
        change: &MappingChange,
        actor: &str,
        now: &str,
    ) -> Result<Mapping, StoreError> {
        self.inner
            .mappings
            .update(address, change, actor, now)
            .await
    }

    async fn audit_trail(&self, subject: &str) -> Result<Vec<AuditEntry>, StoreError> {
        self.inner.mappings.audit_trail(subject).await
    }

    async fn audit_log(
        &self,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<AuditEntry>, StoreError> {
        self.inner.mappings.audit_log(limit, cursor).await
    }

    async fn counts(&self) -> Result<MappingCounts, StoreError> {
        self.inner.mappings.counts().await
    }

    async fn append_audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.inner.mappings.append_audit(entry).await
    }

    async fn import(&self, mapping: &Mapping, actor: &str, now: &str) -> Result<bool, StoreError> {
        self.inner.mappings.import(mapping, actor, now).await
    }
}

#[async_trait]
impl RawStore for FaultyStore {
    async fn put_raw(&self, id: &str, raw: &[u8], now: &str) -> Result<(), StoreError> {
        self.faulted("put raw", self.inner.raw.put_raw(id, raw, now))
            .await
    }

    async fn put_raw_location(
        &self,
        id: &str,
        object: &S3Object,
        now: &str,
    ) -> Result<(), StoreError> {
        self.faulted("put raw", self.inner.raw.put_raw_location(id, object, now))
            .await
    }

    async fn raw(&self, id: &str) -> Result<Option<Kept>, StoreError> {
        self.inner.raw.raw(id).await
    }
}

#[async_trait]
impl SettingsStore for FaultyStore {
    async fn setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.faulted("read setting", self.inner.settings.setting(key))
            .await
    }

    async fn settings(
        &self,
        keys: &[&str],
    ) -> Result<std::collections::BTreeMap<String, String>, StoreError> {
        self.faulted("read settings", self.inner.settings.settings(keys))
            .await
    }

    async fn put_setting(
        &self,
        key: &str,
        value: &str,
        actor: &str,
        now: &str,
    ) -> Result<(), StoreError> {
        self.inner
            .settings
            .put_setting(key, value, actor, now)
            .await
    }
}
