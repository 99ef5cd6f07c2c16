//! The body of `PATCH /api/v1/addresses/{address}` and its validation.

use std::collections::BTreeMap;

use app::model::MappingStatus;
use serde::{Deserialize, Deserializer};

use crate::service::vending::{check_tags, FieldError, VendRules};
use crate::store::MappingChange;

/// `null` clears a field; leaving it out keeps it.
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Present means a value: `null` is refused (it would read as "clear", which these fields
/// cannot be), so a field is either left out or given.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String)]
    pub owner: Option<String>,
    /// The whole list of other recipients (up to four), replacing the one before; `[]`
    /// leaves the owner alone.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<String>)]
    pub recipients: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String)]
    pub account_type: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = BTreeMap<String, String>)]
    pub tags: Option<BTreeMap<String, String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub aws_account_id: Option<Option<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    /// Accepted only to say clearly why it cannot be changed.
    #[serde(default)]
    #[schema(ignore)]
    pub address: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    #[schema(ignore)]
    pub account_name: Option<serde::de::IgnoredAny>,
}

const MAX_NOTES: usize = 2000;

impl MappingPatch {
    pub fn validate(&self, rules: &VendRules) -> Result<MappingChange, FieldError> {
        let err = |field: &'static str, message: &str| FieldError {
            field,
            message: message.to_string(),
        };
        if self.address.is_some() {
            return Err(err(
                "address",
                "the address of a mapping never changes; vend a new one instead",
            ));
        }
        if self.account_name.is_some() {
            return Err(err(
                "account_name",
                "the account name of a mapping never changes",
            ));
        }
        let owner = match &self.owner {
            None => None,
            Some(o) => Some(rules.owner(o)?.as_str().to_string()),
        };
        // Against the owner named here; the service checks it against the stored one too.
        let recipients = match &self.recipients {
            None => None,
            Some(list) => Some(rules.recipients(list, owner.as_deref().unwrap_or(""))?),
        };
        let status = match self.status.as_deref() {
            None => None,
            Some("active") => Some(MappingStatus::Active),
            Some("suspended") => Some(MappingStatus::Suspended),
            Some("deleted") => {
                return Err(err("status", "use DELETE to delete a mapping"));
            }
            Some(_) => return Err(err("status", "expected \"active\" or \"suspended\"")),
        };
        let account_type = match &self.account_type {
            None => None,
            Some(t) => Some(rules.account_type(t)?),
        };
        if let Some(tags) = &self.tags {
            check_tags(tags)?;
        }
        let aws_account_id = match &self.aws_account_id {
            Some(Some(id)) if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(err(
                    "aws_account_id",
                    "expected the 12-digit AWS account id",
                ));
            }
            other => other.clone(),
        };
        let typed = self.notes.as_ref().and_then(|n| n.as_deref());
        if let Some(c) = typed.and_then(|n| super::text::hidden_char(n, &['\n', '\t'])) {
            return Err(err(
                "notes",
                &format!(
                    "{}; only printable characters, newlines and tabs are allowed",
                    super::text::describe(c)
                ),
            ));
        }
        let notes = match &self.notes {
            Some(Some(n)) if n.chars().count() > MAX_NOTES => {
                return Err(err("notes", "at most 2000 characters"));
            }
            Some(Some(n)) if n.trim().is_empty() => Some(None),
            other => other.clone(),
        };
        let change = MappingChange {
            owner,
            recipients,
            status,
            account_type,
            tags: self.tags.clone(),
            aws_account_id,
            // Only the organization sync writes the link.
            account: None,
            notes,
        };
        if change == MappingChange::default() {
            return Err(err("body", "nothing to change: give at least one of owner, recipients, status, account_type, tags, aws_account_id, notes"));
        }
        Ok(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> VendRules {
        VendRules {
            domain: "example.com".into(),
            reserved: Vec::new(),
            counter_width: 3,
            account_types: vec!["Sales".into(), "IT".into()],
        }
    }

    fn parse(json: &str) -> MappingPatch {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn null_clears_and_absence_keeps() {
        let c = parse(r#"{"notes": null}"#).validate(&rules()).unwrap();
        assert_eq!(c.notes, Some(None));
        assert_eq!(c.aws_account_id, None);
        let c = parse(
            r#"{"aws_account_id": "123456789012", "status": "suspended", "account_type": "it"}"#,
        )
        .validate(&rules())
        .unwrap();
        assert_eq!(c.aws_account_id, Some(Some("123456789012".into())));
        assert_eq!(c.status, Some(MappingStatus::Suspended));
        assert_eq!(c.account_type.as_deref(), Some("IT"));
    }

    #[test]
    fn bad_edits_name_their_field() {
        for (json, field) in [
            (r#"{"address": "x@example.com"}"#, "address"),
            (r#"{"account_name": "x"}"#, "account_name"),
            (r#"{"owner": "not-an-address"}"#, "owner"),
            (r#"{"owner": "someone@example.com"}"#, "owner"),
            (r#"{"status": "deleted"}"#, "status"),
            (r#"{"status": "paused"}"#, "status"),
            (r#"{"account_type": "Marketing"}"#, "account_type"),
            (r#"{"aws_account_id": "12345"}"#, "aws_account_id"),
            (r#"{"tags": {"": "x"}}"#, "tags"),
            (r#"{"notes": "bell\u0007"}"#, "notes"),
            (r#"{"notes": "looks fine\u202Eevil"}"#, "notes"),
            (r#"{"notes": "zero\u200Bwidth"}"#, "notes"),
            (r#"{"tags": {"team": "ops\u2066x"}}"#, "tags"),
            (r#"{"tags": {"te\u200Dam": "ops"}}"#, "tags"),
            (r#"{}"#, "body"),
        ] {
            let e = parse(json).validate(&rules()).unwrap_err();
            assert_eq!(e.field, field, "{json}: {e}");
        }
        let e = serde_json::from_str::<MappingPatch>(r#"{"colour": 1}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `colour`"));
        // Only the clearable fields take null; elsewhere null is refused, not read as absent.
        for json in [
            r#"{"owner": null, "notes": "x"}"#,
            r#"{"status": null}"#,
            r#"{"account_type": null}"#,
            r#"{"tags": null}"#,
        ] {
            let e = serde_json::from_str::<MappingPatch>(json).unwrap_err();
            assert!(e.to_string().contains("invalid type: null"), "{json}: {e}");
        }
    }
}
