//! How vended names and addresses are made: `slug(business unit)-slug(application)-env-NNN`.
//! Pure functions, shared by the server (which vends) and the browser (which previews).

use serde::{Deserialize, Serialize};

/// AWS Organizations' limit on an account name.
pub const MAX_ACCOUNT_NAME: usize = 50;
/// AWS Organizations' limit on an account's email address.
pub const MAX_ADDRESS: usize = 64;
/// RFC 5321's limit on a local part, in octets.
pub const MAX_LOCAL_PART: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub enum Environment {
    Development,
    #[default]
    Evaluation,
    Production,
    QualityAssurance,
    Training,
    Validation,
}

impl Environment {
    pub const ALL: [Environment; 6] = [
        Environment::Development,
        Environment::Evaluation,
        Environment::Production,
        Environment::QualityAssurance,
        Environment::Training,
        Environment::Validation,
    ];

    /// The AWS sample's spelling, e.g. `PRODUCTION`.
    pub fn long(self) -> &'static str {
        match self {
            Environment::Development => "DEVELOPMENT",
            Environment::Evaluation => "EVALUATION",
            Environment::Production => "PRODUCTION",
            Environment::QualityAssurance => "QUALITYASSURANCE",
            Environment::Training => "TRAINING",
            Environment::Validation => "VALIDATION",
        }
    }

    /// The form that goes into names, e.g. `prod`.
    pub fn short(self) -> &'static str {
        match self {
            Environment::Development => "dev",
            Environment::Evaluation => "eval",
            Environment::Production => "prod",
            Environment::QualityAssurance => "qa",
            Environment::Training => "trn",
            Environment::Validation => "val",
        }
    }

    /// Accepts either form, in any case; an empty value means the default (`eval`).
    pub fn parse(v: &str) -> Result<Environment, NamingError> {
        let v = v.trim();
        if v.is_empty() {
            return Ok(Environment::default());
        }
        Environment::ALL
            .into_iter()
            .find(|e| v.eq_ignore_ascii_case(e.long()) || v.eq_ignore_ascii_case(e.short()))
            .ok_or_else(|| NamingError {
                field: "environment",
                message: format!(
                    "expected one of DEVELOPMENT, EVALUATION, PRODUCTION, QUALITYASSURANCE, \
                     TRAINING, VALIDATION (or dev, eval, prod, qa, trn, val), got {v:?}"
                ),
            })
    }
}

/// A naming rule that an input broke, with the input's field name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamingError {
    pub field: &'static str,
    pub message: String,
}

impl std::fmt::Display for NamingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Lower-cases, turns every run of characters outside `[a-z0-9]` into one `-`, trims `-`.
/// Non-ASCII letters are outside the set too, so `Café` becomes `caf`.
pub fn slug(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut pending_dash = false;
    for c in v.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.push(c);
        } else {
            pending_dash = true;
        }
    }
    out
}

/// `slug(business unit)-slug(application)-env`: the part of a name before its counter.
pub fn base_name(
    business_unit: &str,
    application: &str,
    environment: Environment,
) -> Result<String, NamingError> {
    let bu = slug(business_unit);
    if bu.is_empty() {
        return Err(NamingError {
            field: "business_unit",
            message: "must contain at least one letter or digit".into(),
        });
    }
    let app = slug(application);
    if app.is_empty() {
        return Err(NamingError {
            field: "application",
            message: "must contain at least one letter or digit".into(),
        });
    }
    Ok(format!("{bu}-{app}-{}", environment.short()))
}

/// `base-NNN`, the counter zero-padded to `width` and growing past it when it must.
pub fn account_name(base: &str, counter: u64, width: u8) -> String {
    format!("{base}-{counter:0width$}", width = usize::from(width))
}

/// Checks a finished name and its address against AWS's and RFC 5321's limits. `field`
/// names the input to blame: the override when one was given, else the generating inputs.
pub fn check_limits(name: &str, domain: &str, field: &'static str) -> Result<(), NamingError> {
    if name.len() > MAX_ACCOUNT_NAME {
        return Err(NamingError {
            field,
            message: format!(
                "the account name {name:?} would be {} characters; AWS allows {MAX_ACCOUNT_NAME}",
                name.len()
            ),
        });
    }
    let address_len = name.len() + 1 + domain.len();
    if name.len() > MAX_LOCAL_PART || address_len > MAX_ADDRESS {
        return Err(NamingError {
            field,
            message: format!(
                "the address {name}@{domain} would be {address_len} characters; AWS allows {MAX_ADDRESS}"
            ),
        });
    }
    Ok(())
}

/// What the vend form shows while the user types: the address with `NNN` for the counter
/// the server will assign.
pub fn preview(
    business_unit: &str,
    application: &str,
    environment: &str,
    width: u8,
    domain: &str,
) -> Result<String, NamingError> {
    let env = Environment::parse(environment)?;
    let base = base_name(business_unit, application, env)?;
    let placeholder = "N".repeat(usize::from(width));
    let name = format!("{base}-{placeholder}");
    check_limits(&name, domain, "business_unit")?;
    Ok(format!("{name}@{domain}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for (input, want) in [
            ("Blue-Origin", "blue-origin"),
            ("space-cube-z", "space-cube-z"),
            ("  Data  Engineering!! ", "data-engineering"),
            ("A__B..C", "a-b-c"),
            ("---x---", "x"),
            ("Café Crème", "caf-cr-me"),
            ("日本", ""),
            ("", ""),
            ("MiXeD123", "mixed123"),
        ] {
            assert_eq!(slug(input), want, "{input:?}");
        }
    }

    #[test]
    fn environments_in_both_forms_and_any_case() {
        for (input, want) in [
            ("DEVELOPMENT", "dev"),
            ("evaluation", "eval"),
            ("Production", "prod"),
            ("QUALITYASSURANCE", "qa"),
            ("TRAINING", "trn"),
            ("VALIDATION", "val"),
            ("dev", "dev"),
            ("PROD", "prod"),
            ("qa", "qa"),
            ("", "eval"),
            ("  ", "eval"),
        ] {
            assert_eq!(
                Environment::parse(input).unwrap().short(),
                want,
                "{input:?}"
            );
        }
        let err = Environment::parse("staging").unwrap_err();
        assert_eq!(err.field, "environment");
        assert!(err.message.contains("\"staging\""), "{err}");
    }

    #[test]
    fn the_aws_sample_payload_names_like_the_sample() {
        let base = base_name("Blue-Origin", "space-cube-z", Environment::Production).unwrap();
        assert_eq!(base, "blue-origin-space-cube-z-prod");
        assert_eq!(
            account_name(&base, 1, 3),
            "blue-origin-space-cube-z-prod-001"
        );
    }

    #[test]
    fn counters_pad_to_the_width_and_grow_past_it() {
        assert_eq!(account_name("b", 7, 3), "b-007");
        assert_eq!(account_name("b", 999, 3), "b-999");
        assert_eq!(account_name("b", 1000, 3), "b-1000");
        assert_eq!(account_name("b", 42, 1), "b-42");
        assert_eq!(account_name("b", 42, 5), "b-00042");
    }

    #[test]
    fn inputs_without_letters_or_digits_name_their_field() {
        let e = base_name("!!!", "app", Environment::Production).unwrap_err();
        assert_eq!(e.field, "business_unit");
        let e = base_name("bu", "  ", Environment::Production).unwrap_err();
        assert_eq!(e.field, "application");
    }

    #[test]
    fn limits_are_checked_never_truncated() {
        // 50 characters exactly is allowed; 51 is not.
        let name50 = "a".repeat(50);
        assert!(check_limits(&name50, "x.io", "account_name").is_ok());
        let e = check_limits(&"a".repeat(51), "x.io", "account_name").unwrap_err();
        assert_eq!(e.field, "account_name");
        assert!(e.message.contains("51 characters"), "{e}");
        // A name within 50 whose address passes 64 characters.
        let e = check_limits(
            &"a".repeat(40),
            "a-rather-long-mail-domain.example.com",
            "business_unit",
        )
        .unwrap_err();
        assert_eq!(e.field, "business_unit");
        assert!(e.message.contains("AWS allows 64"), "{e}");
        // 64 exactly is allowed.
        let domain = "d".repeat(10) + ".com"; // 14
        assert!(check_limits(&"n".repeat(49), &domain, "x").is_ok()); // 49 + 1 + 14 = 64
        assert!(check_limits(&"n".repeat(50), &domain, "x").is_err()); // 65
    }

    #[test]
    fn previews_show_the_counter_placeholder() {
        assert_eq!(
            preview(
                "Blue-Origin",
                "space-cube-z",
                "PRODUCTION",
                3,
                "example.com"
            )
            .unwrap(),
            "blue-origin-space-cube-z-prod-NNN@example.com"
        );
        assert_eq!(
            preview("bu", "app", "", 4, "example.com").unwrap(),
            "bu-app-eval-NNNN@example.com"
        );
        assert_eq!(
            preview("bu", "app", "nope", 3, "example.com")
                .unwrap_err()
                .field,
            "environment"
        );
    }
}
