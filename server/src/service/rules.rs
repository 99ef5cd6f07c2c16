//! Routing rules (#18, `inbound::rules`): the ordered list an admin keeps, each change
//! checked whole and audited as `setting:routing_rules` (the list before and after), and a
//! rule's dry run over the latest mail.

use app::model::{RoutingRule, RoutingRules, RuleChange, RuleDraft, RuleDryRun, RulesView};

use crate::clock::now_rfc3339;
use crate::inbound::rules::Rule;
use crate::store::MessageFilter;

use super::caller::AdminCaller;
use super::{AppService, ServiceError};

/// How many of the latest records a dry run may look at.
pub const MAX_DRY_RUN: u32 = 1000;
/// What a dry run looks at unless told.
pub const DEFAULT_DRY_RUN: u32 = 200;

impl AppService {
    pub async fn rules(&self, _caller: &AdminCaller) -> Result<RoutingRules, ServiceError> {
        Ok(crate::settings::routing_rules(&*self.stores.settings).await?)
    }

    /// The rules with those this server skips, for the Settings page.
    pub async fn rules_view(&self, caller: &AdminCaller) -> Result<RulesView, ServiceError> {
        let list = self.rules(caller).await?;
        let skipped = list
            .rules
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                Rule::compile(r, i + 1, &self.config.domain)
                    .err()
                    .map(|e| e.to_string())
            })
            .collect();
        Ok(RulesView {
            rules: list.rules,
            skipped,
        })
    }

    /// Replaces the list (`PUT /api/v1/rules`); every rule is checked first.
    pub async fn set_rules(
        &self,
        caller: &AdminCaller,
        rules: &RoutingRules,
    ) -> Result<RoutingRules, ServiceError> {
        // Every rule checked first: a refused list writes nothing.
        crate::inbound::rules::Rules::compile(&rules.rules, &self.config.domain).map_err(|e| {
            ServiceError::Invalid {
                field: "rules".into(),
                message: e.to_string(),
            }
        })?;
        let saved = crate::settings::put_routing_rules(
            &*self.stores.settings,
            rules,
            caller.actor(),
            &now_rfc3339(),
        )
        .await?;
        tracing::info!(
            actor = caller.actor(),
            rules = saved.rules.len(),
            "routing rules saved"
        );
        Ok(saved)
    }

    /// Adds the rule a Settings form describes at the end of the list.
    pub async fn add_rule(
        &self,
        caller: &AdminCaller,
        draft: &RuleDraft,
    ) -> Result<RoutingRules, ServiceError> {
        let rule = drafted(draft)?;
        let mut list = self.rules(caller).await?;
        list.rules.push(rule);
        self.set_rules(caller, &list).await
    }

    /// Moves or deletes rule `number` (from 1), which must still be called `name`: the list
    /// may have changed since the admin's page showed it.
    pub async fn change_rule(
        &self,
        caller: &AdminCaller,
        number: usize,
        name: &str,
        change: RuleChange,
    ) -> Result<RoutingRules, ServiceError> {
        let mut list = self.rules(caller).await?;
        let named = |r: &RoutingRule| r.name.trim() == name.trim();
        // Where the page showed it; else, if the list moved meanwhile, the one rule of that
        // name. Never a guess between two of the same name.
        let at = number
            .checked_sub(1)
            .filter(|i| list.rules.get(*i).is_some_and(named))
            .or_else(|| {
                let mut same = list.rules.iter().enumerate().filter(|(_, r)| named(r));
                match (same.next(), same.next()) {
                    (Some((i, _)), None) => Some(i),
                    _ => None,
                }
            });
        let Some(i) = at else {
            return Err(ServiceError::Conflict(format!(
                "rule {number} is not \"{name}\" any more (the rules changed meanwhile); \
                 reload the page"
            )));
        };
        match change {
            RuleChange::Delete => {
                list.rules.remove(i);
            }
            RuleChange::Up if i > 0 => list.rules.swap(i, i - 1),
            RuleChange::Down if i + 1 < list.rules.len() => list.rules.swap(i, i + 1),
            // Already first or last: nothing to do, and nothing to audit.
            RuleChange::Up | RuleChange::Down => return Ok(list),
        }
        self.set_rules(caller, &list).await
    }

    /// Which of the latest `last` records (at most `MAX_DRY_RUN`) `rule`'s conditions match:
    /// "what would this rule have caught". Nothing is changed or sent.
    pub async fn dry_run_rule(
        &self,
        _caller: &AdminCaller,
        rule: &RoutingRule,
        last: Option<u32>,
    ) -> Result<RuleDryRun, ServiceError> {
        let rule =
            Rule::compile(rule, 1, &self.config.domain).map_err(|e| ServiceError::Invalid {
                field: e.field.to_string(),
                message: e.message,
            })?;
        let last = last.unwrap_or(DEFAULT_DRY_RUN).clamp(1, MAX_DRY_RUN);
        let filter = MessageFilter::default();
        let (mut examined, mut matched, mut cursor) = (0u32, Vec::new(), None);
        while examined < last {
            let page = self
                .stores
                .messages
                .messages(&filter, (last - examined).min(500), cursor.as_deref())
                .await?;
            examined += page.items.len() as u32;
            matched.extend(page.items.into_iter().filter(|m| {
                rule.matches(&m.sender, m.subject.as_deref().unwrap_or(""), &m.recipient)
            }));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Ok(RuleDryRun { examined, matched })
    }

    /// A dry run of the rule a Settings form describes.
    pub async fn preview_rule(
        &self,
        caller: &AdminCaller,
        draft: &RuleDraft,
    ) -> Result<RuleDryRun, ServiceError> {
        self.dry_run_rule(caller, &drafted(draft)?, None).await
    }
}

fn drafted(draft: &RuleDraft) -> Result<RoutingRule, ServiceError> {
    draft
        .to_rule()
        .map_err(|(field, message)| ServiceError::Invalid {
            field: field.to_string(),
            message,
        })
}
