//! Run-time settings: what the store holds, over the configuration's initial values.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use app::model::SettingsPatch;
use app::model::{
    ClassPolicies, ClassPolicy, DmarcPolicy, MailClass, RoutingRules, Settings, SpamPolicy,
};

use crate::config::Config;
use crate::store::{SettingsStore, StoreError};

const CATCH_ALL: &str = "catch_all";
const SPAM_POLICY: &str = "spam_policy";
const DMARC_POLICY: &str = "dmarc_policy";
const SESSION_EPOCH: &str = "session_epoch";
/// The routing rules, as one JSON value (`RoutingRules`): a change replaces the list and is
/// audited whole, so the audit log shows the list before and after.
const ROUTING_RULES: &str = "routing_rules";

/// The key of a class's policy: `class_policy.credential`, and so on.
fn class_key(class: MailClass) -> String {
    format!("class_policy.{}", class.as_str())
}

/// The policies in force before an admin sets any: `forward`, except credential mail, which
/// goes only to the restricted group when one is configured (AWS's guidance: limit who can
/// reset a root user's password).
pub fn default_class_policies(config: &Config) -> ClassPolicies {
    let mut policies = ClassPolicies::default();
    if !config.restricted_to.is_empty() {
        policies.set(MailClass::Credential, ClassPolicy::Restricted);
    }
    policies
}

/// "Sign everyone out" (issue 20 item 3): sessions begun before this time are over. Read on
/// every signed-in request, so it is cached here for `SessionEpoch::CACHE`; the server where
/// an admin signs everyone out knows at once, the others within that time.
pub struct SessionEpoch {
    store: Arc<dyn SettingsStore>,
    cached: Mutex<Option<(Instant, i64)>>,
}

impl SessionEpoch {
    pub const CACHE: Duration = Duration::from_secs(10);

    pub fn new(store: Arc<dyn SettingsStore>) -> SessionEpoch {
        SessionEpoch {
            store,
            cached: Mutex::new(None),
        }
    }

    /// Unix milliseconds before which sessions are void (0: never signed out). A store that does
    /// not answer keeps the last value known; with none known, `None`: the caller must not
    /// take a session for valid (a signed-out session must not come back because the store
    /// blinked after a restart).
    pub async fn current(&self) -> Option<i64> {
        let last = *self.cached.lock().expect("epoch lock");
        if let Some((read, epoch)) = last {
            if read.elapsed() < Self::CACHE {
                return Some(epoch);
            }
        }
        match self.store.setting(SESSION_EPOCH).await {
            Ok(v) => {
                let epoch = v.and_then(|v| v.parse().ok()).unwrap_or(0);
                *self.cached.lock().expect("epoch lock") = Some((Instant::now(), epoch));
                Some(epoch)
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read the session epoch");
                last.map(|(_, epoch)| epoch)
            }
        }
    }

    /// Ends every session begun before `now_ms` (unix milliseconds; audited like any setting).
    pub async fn sign_everyone_out(
        &self,
        actor: &str,
        now: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.store
            .put_setting(SESSION_EPOCH, &now_ms.to_string(), actor, now)
            .await?;
        *self.cached.lock().expect("epoch lock") = Some((Instant::now(), now_ms));
        Ok(())
    }
}

/// The settings in force: stored values, else the configuration's.
pub async fn current(store: &dyn SettingsStore, config: &Config) -> Result<Settings, StoreError> {
    Ok(with_rules(store, config).await?.0)
}

/// The stored routing rules (none when never set).
pub async fn routing_rules(store: &dyn SettingsStore) -> Result<RoutingRules, StoreError> {
    Ok(parse_rules(store.setting(ROUTING_RULES).await?.as_deref()))
}

fn parse_rules(stored: Option<&str>) -> RoutingRules {
    match stored.map(serde_json::from_str::<RoutingRules>) {
        None => RoutingRules::default(),
        Some(Ok(rules)) => rules,
        // Written by this code only, after checking; unreadable means a newer or broken
        // value, and mail must not stop for it.
        Some(Err(e)) => {
            tracing::error!(error = %e, "the stored routing rules cannot be read; none apply");
            RoutingRules::default()
        }
    }
}

/// Replaces the routing rules, audited as `setting:routing_rules`. The caller has checked
/// every one for this server (`service::rules`, with `inbound::rules::Rules::compile`).
pub async fn put_routing_rules(
    store: &dyn SettingsStore,
    rules: &RoutingRules,
    actor: &str,
    now: &str,
) -> Result<RoutingRules, StoreError> {
    let json = serde_json::to_string(rules).map_err(|e| StoreError::Unavailable(e.to_string()))?;
    store.put_setting(ROUTING_RULES, &json, actor, now).await?;
    Ok(rules.clone())
}

/// The settings in force and the routing rules, in one read: the pipeline asks for every
/// message.
pub async fn with_rules(
    store: &dyn SettingsStore,
    config: &Config,
) -> Result<(Settings, RoutingRules), StoreError> {
    let class_keys: Vec<String> = MailClass::ALL.into_iter().map(class_key).collect();
    let mut keys = vec![CATCH_ALL, SPAM_POLICY, DMARC_POLICY, ROUTING_RULES];
    keys.extend(class_keys.iter().map(String::as_str));
    let stored = store.settings(&keys).await?;
    let rules = parse_rules(stored.get(ROUTING_RULES).map(String::as_str));
    let catch_all = match stored.get(CATCH_ALL).map(String::as_str) {
        Some("true") => true,
        Some("false") => false,
        _ => config.catch_all,
    };
    let spam_policy = stored
        .get(SPAM_POLICY)
        .and_then(|v| SpamPolicy::parse(v))
        .unwrap_or_default();
    let dmarc_policy = stored
        .get(DMARC_POLICY)
        .and_then(|v| DmarcPolicy::parse(v))
        .unwrap_or_default();
    let mut class_policies = default_class_policies(config);
    for class in MailClass::ALL {
        if let Some(p) = stored
            .get(&class_key(class))
            .and_then(|v| ClassPolicy::parse(v))
        {
            class_policies.set(class, p);
        }
    }
    let settings = Settings {
        catch_all,
        spam_policy,
        dmarc_policy,
        class_policies,
        restricted_to: config.restricted_to.clone(),
        hold_days: config.hold_for_days,
    };
    Ok((settings, rules))
}

/// Writes each field the patch names (each audited), returning the settings after.
pub async fn apply(
    store: &dyn SettingsStore,
    config: &Config,
    patch: &SettingsPatch,
    actor: &str,
    now: &str,
) -> Result<Settings, StoreError> {
    let classes = patch
        .class_policies
        .map(|p| p.changes())
        .unwrap_or_default();
    // Checked before anything is written, so a refused patch changes nothing.
    if config.restricted_to.is_empty() {
        if let Some((class, _)) = classes.iter().find(|(_, p)| *p == ClassPolicy::Restricted) {
            // Well-formed, but this server has no group: a conflict with its configuration.
            return Err(StoreError::Conflict(format!(
                "{} mail cannot be restricted: no restricted group is configured \
                 (MAILVEND_RESTRICTED_TO)",
                class.as_str()
            )));
        }
    }
    for (class, policy) in classes {
        store
            .put_setting(&class_key(class), policy.as_str(), actor, now)
            .await?;
    }
    if let Some(v) = patch.catch_all {
        store
            .put_setting(CATCH_ALL, if v { "true" } else { "false" }, actor, now)
            .await?;
    }
    if let Some(p) = patch.spam_policy {
        store
            .put_setting(SPAM_POLICY, p.as_str(), actor, now)
            .await?;
    }
    if let Some(p) = patch.dmarc_policy {
        store
            .put_setting(DMARC_POLICY, p.as_str(), actor, now)
            .await?;
    }
    current(store, config).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::model::ClassPoliciesPatch;

    fn config(group: &str) -> Config {
        let mut vars = vec![(
            "MAILVEND_DOMAIN".to_string(),
            "mail.example.com".to_string(),
        )];
        if !group.is_empty() {
            vars.push(("MAILVEND_RESTRICTED_TO".into(), group.into()));
        }
        Config::load(vars, None).unwrap()
    }

    fn patch(credential: ClassPolicy, other: ClassPolicy) -> SettingsPatch {
        SettingsPatch {
            class_policies: Some(ClassPoliciesPatch {
                credential: Some(credential),
                other: Some(other),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// Credential mail is restricted by default only when there is a group to restrict it
    /// to; `restricted` is refused without one, and the refused patch writes nothing at all.
    #[tokio::test]
    async fn class_policies_default_by_the_group_and_need_one_to_restrict() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::sqlite::SqliteStore::open(&dir.path().join("s.db"))
            .await
            .unwrap();
        let (grouped, alone) = (config("platform@corp.example"), config(""));
        let s = current(&store, &grouped).await.unwrap();
        assert_eq!(s.class_policies.credential, ClassPolicy::Restricted);
        assert_eq!(s.class_policies.security, ClassPolicy::Forward);
        assert_eq!(s.restricted_to, vec!["platform@corp.example"]);
        let s = current(&store, &alone).await.unwrap();
        assert_eq!(s.class_policies, ClassPolicies::default());

        let refused = apply(
            &store,
            &alone,
            &patch(ClassPolicy::Restricted, ClassPolicy::Drop),
            "admin",
            "2026-11-25T00:00:00.000Z",
        )
        .await;
        assert!(
            matches!(&refused, Err(StoreError::Conflict(message)) if message.contains("MAILVEND_RESTRICTED_TO")),
            "{refused:?}"
        );
        assert_eq!(
            current(&store, &alone).await.unwrap().class_policies.other,
            ClassPolicy::Forward,
            "nothing of a refused patch is written"
        );

        let after = apply(
            &store,
            &grouped,
            &patch(ClassPolicy::Hold, ClassPolicy::Drop),
            "admin",
            "2026-11-25T00:00:00.000Z",
        )
        .await
        .unwrap();
        assert_eq!(after.class_policies.credential, ClassPolicy::Hold);
        assert_eq!(after.class_policies.other, ClassPolicy::Drop);
        // Stored choices win over the default, with or without a group.
        assert_eq!(
            current(&store, &alone)
                .await
                .unwrap()
                .class_policies
                .credential,
            ClassPolicy::Hold
        );
    }
}
