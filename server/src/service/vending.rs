//! Turning a vend request into a validated `VendSpec`: every rule of docs/product.md §1 that does
//! not need the store. Pure, so each rule has a table test.

use std::collections::BTreeMap;

use app::address::EmailAddress;
use app::naming::{self, Environment};
use serde::Deserialize;

use crate::store::{NameSpec, VendSpec};

/// The body of `POST /api/v1/addresses` (and what the dashboard's vend form sends).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VendRequest {
    pub owner: String,
    pub account_type: String,
    #[serde(default)]
    pub business_unit: Option<String>,
    #[serde(default)]
    pub application: Option<String>,
    #[serde(default)]
    pub environment: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Up to four more mailboxes that get every message too (a team list, a backup).
    #[serde(default)]
    pub recipients: Vec<String>,
    /// Name override.
    #[serde(default)]
    pub account_name: Option<String>,
    /// Address override; must be on the configured domain.
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// The settings vending depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendRules {
    pub domain: String,
    pub counter_width: u8,
    pub account_types: Vec<String>,
    /// Local parts nobody may vend (lower-cased): see `reserved_local_parts`.
    pub reserved: Vec<String>,
}

/// Role mailboxes of RFC 2142 and those certificate authorities and AWS send validation and
/// account mail to: whoever holds one of these on the domain can pass domain validation or
/// read mail meant for the people who run it, so they reach the admin (catch-all), never an
/// owner.
pub const RESERVED_LOCAL_PARTS: &[&str] = &[
    // RFC 2142 §§ 3-5
    "info",
    "marketing",
    "sales",
    "support",
    "abuse",
    "noc",
    "security",
    "postmaster",
    "hostmaster",
    "usenet",
    "news",
    "webmaster",
    "www",
    "uucp",
    "ftp",
    // Domain validation (ACM, CA/B Forum baseline requirements 3.2.2.4.4) and the usual others
    "admin",
    "administrator",
    "ssl-admin",
    "root",
    "noreply",
    "no-reply",
    "mailer-daemon",
];

/// Every reserved local part: the built-in list, the local parts of the from and admin
/// addresses when they are on the domain, and `extra` (`MAILVEND_RESERVED_ADDRESSES`).
pub fn reserved_local_parts(domain: &str, own: &[&str], extra: &[String]) -> Vec<String> {
    let mut all: Vec<String> = RESERVED_LOCAL_PARTS.iter().map(|s| s.to_string()).collect();
    for a in own {
        if let Some((local, d)) = a.rsplit_once('@') {
            if d.eq_ignore_ascii_case(domain) {
                all.push(local.to_ascii_lowercase());
            }
        }
    }
    all.extend(extra.iter().map(|e| e.to_ascii_lowercase()));
    all.sort();
    all.dedup();
    all
}

/// Characters AWS refuses in an account email's local part that a mail address may hold
/// (Organizations `CreateAccount`: no whitespace, `" ' ( ) < > [ ] : ; , \ | % &`).
const AWS_REFUSED: &[char] = &['%', '&', '\'', '|'];

/// Why AWS would not create an account with `address`, if it would not.
pub fn aws_refuses(address: &str) -> Option<String> {
    let local = address.rsplit_once('@').map_or(address, |(l, _)| l);
    if let Some(c) = local.chars().find(|c| AWS_REFUSED.contains(c)) {
        return Some(format!(
            "AWS refuses {c:?} in an account's email address; use letters, digits and . _ - +"
        ));
    }
    if address.len() < 6 {
        return Some("AWS needs an account's email address to be at least 6 characters".into());
    }
    None
}

/// Why `owner` cannot own an address on `domain`, if it cannot: mail forwarded to an owner on
/// the served domain arrives here again, a forwarding loop (issue 22 item 1).
pub fn owner_loops(owner: &str, domain: &str) -> Option<String> {
    let on_domain = owner
        .rsplit_once('@')
        .is_some_and(|(_, d)| d.eq_ignore_ascii_case(domain));
    on_domain.then(|| {
        format!(
            "{owner} is on {domain}, the domain mailvend serves: its mail would come back here \
             (a forwarding loop); give the owner's own mailbox elsewhere"
        )
    })
}

impl VendRules {
    /// An owner's address: one mailbox, never on the served domain.
    pub fn owner(&self, v: &str) -> Result<EmailAddress, FieldError> {
        let owner = EmailAddress::parse(v).map_err(|m| field_error("owner", m))?;
        match owner_loops(owner.as_str(), &self.domain) {
            Some(m) => Err(field_error("owner", m)),
            None => Ok(owner),
        }
    }

    /// A mapping's other recipients besides `owner`: at most `MAX_RECIPIENTS`, each one
    /// mailbox by the owner's rules, lower-cased. A repeat or the owner is dropped: they get
    /// the mail already, and nothing is lost by leaving them out.
    pub fn recipients(&self, list: &[String], owner: &str) -> Result<Vec<String>, FieldError> {
        if list.len() > app::model::MAX_RECIPIENTS {
            return Err(field_error(
                "recipients",
                format!(
                    "at most {} besides the owner, got {}",
                    app::model::MAX_RECIPIENTS,
                    list.len()
                ),
            ));
        }
        let mut out: Vec<String> = Vec::with_capacity(list.len());
        for r in list {
            let r = self
                .owner(r)
                .map_err(|e| field_error("recipients", e.message))?
                .as_str()
                .to_string();
            if !r.eq_ignore_ascii_case(owner) && !out.contains(&r) {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Why `address` may not be vended, if it may not: AWS would refuse it, or it is reserved.
    pub fn refuses(&self, address: &str) -> Option<String> {
        aws_refuses(address).or_else(|| self.reserved(address))
    }

    /// Why nobody may vend `address`, if it is reserved (`store::is_reserved`).
    pub fn reserved(&self, address: &str) -> Option<String> {
        let local = address.rsplit_once('@').map_or(address, |(l, _)| l);
        crate::store::is_reserved(&self.reserved, local).then(|| {
            format!(
                "{address} is reserved (role and validation mailboxes, the from and admin \
                     addresses, MAILVEND_RESERVED_ADDRESSES): its mail stays with the admin"
            )
        })
    }

    /// The most characters `business_unit` and `application` may have together: what the
    /// name's limits leave once `-`, `-env-` (the longest environment, `eval`) and the counter
    /// are counted. Counted on the text as given, not on its slug, so the rule is one a generic
    /// client can read from the OpenAPI description.
    pub fn parts_limit(&self) -> usize {
        let fixed = 1 + 1 + 4 + 1 + usize::from(self.counter_width);
        self.name_limit().saturating_sub(fixed).max(2)
    }

    /// The longest account name whose address on the domain AWS and RFC 5321 accept.
    pub fn name_limit(&self) -> usize {
        naming::MAX_ACCOUNT_NAME
            .min(naming::MAX_ADDRESS.saturating_sub(1 + self.domain.len()))
            .min(naming::MAX_LOCAL_PART)
    }

    /// The configured spelling of an account type given in any case.
    pub fn account_type(&self, v: &str) -> Result<String, FieldError> {
        self.account_types
            .iter()
            .find(|t| t.eq_ignore_ascii_case(v.trim()))
            .cloned()
            .ok_or_else(|| {
                field_error(
                    "account_type",
                    format!(
                        "expected one of {}, got {v:?}",
                        self.account_types.join(", ")
                    ),
                )
            })
    }
}

/// AWS's tag limits, which the tags are likely to end up under.
pub fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), FieldError> {
    if tags.len() > MAX_TAGS {
        return Err(field_error("tags", format!("at most {MAX_TAGS} tags")));
    }
    for (k, v) in tags {
        if k.trim().is_empty() || k.chars().count() > MAX_TAG_KEY {
            return Err(field_error(
                "tags",
                format!("tag keys are 1 to {MAX_TAG_KEY} printable characters, got {k:?}"),
            ));
        }
        if let Some(c) =
            super::text::hidden_char(k, &[]).or_else(|| super::text::hidden_char(v, &[]))
        {
            return Err(field_error(
                "tags",
                format!(
                    "tag {k:?} {}: tag keys and values are printable characters",
                    super::text::describe(c)
                ),
            ));
        }
        if v.chars().count() > MAX_TAG_VALUE {
            return Err(field_error(
                "tags",
                format!(
                    "the value of tag {k:?} must be at most {MAX_TAG_VALUE} printable characters"
                ),
            ));
        }
    }
    Ok(())
}

/// A rule an input broke; `field` is the request's field name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

fn field_error(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

const MAX_TAGS: usize = 50;
const MAX_TAG_KEY: usize = 128;
const MAX_TAG_VALUE: usize = 256;

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

pub fn plan(
    req: &VendRequest,
    rules: &VendRules,
    actor: &str,
    now: &str,
) -> Result<VendSpec, FieldError> {
    let owner = rules.owner(&req.owner)?;

    let account_type = rules.account_type(&req.account_type)?;
    check_tags(&req.tags)?;

    let address = match non_empty(&req.address) {
        None => None,
        Some(a) => {
            let a = EmailAddress::parse(a).map_err(|m| field_error("address", m))?;
            if a.domain() != rules.domain {
                return Err(field_error(
                    "address",
                    format!(
                        "must be on the configured domain {}, got {}",
                        rules.domain,
                        a.domain()
                    ),
                ));
            }
            if a.as_str().len() > naming::MAX_ADDRESS {
                return Err(field_error(
                    "address",
                    format!("must be at most {} characters", naming::MAX_ADDRESS),
                ));
            }
            if let Some(m) = rules.refuses(a.as_str()) {
                return Err(field_error("address", m));
            }
            Some(a.as_str().to_string())
        }
    };

    let name = match non_empty(&req.account_name) {
        Some(n) => {
            let n = n.to_ascii_lowercase();
            let chars_ok = n
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.+".contains(&b))
                && !n.starts_with('.')
                && !n.ends_with('.')
                && !n.contains("..");
            if !chars_ok {
                return Err(field_error(
                    "account_name",
                    "use letters, digits and - _ . + only (it may become the address's local part)",
                ));
            }
            // Checked as the address's local part even when an address override is given, so
            // the rule does not depend on another field (and the name stays usable as one).
            naming::check_limits(&n, &rules.domain, "account_name")
                .map_err(|e| field_error(e.field, e.message))?;
            let derived = format!("{n}@{}", rules.domain);
            if let Some(m) = rules.refuses(&derived) {
                return Err(field_error("account_name", m));
            }
            NameSpec::Explicit { account_name: n }
        }
        None => {
            let bu = non_empty(&req.business_unit).ok_or_else(|| {
                field_error("business_unit", "required unless account_name is given")
            })?;
            let app = non_empty(&req.application).ok_or_else(|| {
                field_error("application", "required unless account_name is given")
            })?;
            let limit = rules.parts_limit();
            let given = bu.chars().count() + app.chars().count();
            if given > limit {
                return Err(field_error(
                    "business_unit",
                    format!(
                        "business_unit and application have {given} characters together; at most \
                         {limit} fit the name business_unit-application-env-NNN within AWS's \
                         limits, so shorten the business unit or application"
                    ),
                ));
            }
            let env = Environment::parse(req.environment.as_deref().unwrap_or_default())
                .map_err(|e| field_error(e.field, e.message))?;
            let base =
                naming::base_name(bu, app, env).map_err(|e| field_error(e.field, e.message))?;
            // Checked with the counter at its padded width; the store re-checks the real one.
            let widest = naming::account_name(&base, 0, rules.counter_width);
            let domain = if address.is_some() {
                ""
            } else {
                rules.domain.as_str()
            };
            naming::check_limits(&widest, domain, "business_unit").map_err(|e| {
                field_error(
                    e.field,
                    format!("{}; shorten the business unit or application", e.message),
                )
            })?;
            NameSpec::Generated {
                base,
                width: rules.counter_width,
            }
        }
    };

    let idempotency_key = match non_empty(&req.idempotency_key) {
        None => None,
        Some(k) if k.len() <= 128 && k.bytes().all(|b| (0x21..=0x7e).contains(&b)) => {
            Some(k.to_string())
        }
        Some(_) => {
            return Err(field_error(
                "idempotency_key",
                "1 to 128 printable ASCII characters without spaces",
            ))
        }
    };

    Ok(VendSpec {
        name,
        address,
        domain: rules.domain.clone(),
        account_type,
        recipients: rules.recipients(&req.recipients, owner.as_str())?,
        owner: owner.as_str().to_string(),
        tags: req.tags.clone(),
        idempotency_key,
        actor: actor.to_string(),
        now: now.to_string(),
        reserved: rules.reserved.clone(),
    })
}

#[cfg(test)]
mod tests;
