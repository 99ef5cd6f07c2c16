//! Mail addresses and domains, validated strictly: what SES and AWS Organizations accept,
//! nothing that could smuggle a second recipient or a header.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A DNS domain of at least two labels: letters, digits and inner hyphens, ≤ 253 octets.
/// Returned lower-cased, without a trailing dot.
pub fn parse_domain(v: &str) -> Result<String, String> {
    let d = v.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = d.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if d.len() <= 253 && labels.len() >= 2 && labels.iter().all(label_ok) {
        Ok(d)
    } else {
        Err(format!(
            "expected a DNS domain such as mail.example.com, got {v:?}"
        ))
    }
}

/// One bare mailbox (`local@domain`): no display name, no list, no whitespace or CR/LF,
/// no quoted local part. The local part is a dot-atom of at most 64 octets. Returned
/// lower-cased, since mailvend compares addresses case-insensitively.
pub fn parse_mailbox(v: &str) -> Result<String, String> {
    let err = || format!("expected one email address such as ops@example.com, got {v:?}");
    let (local, domain) = v.rsplit_once('@').ok_or_else(err)?;
    const ATEXT_SPECIALS: &[u8] = b"!#$%&'*+-/=?^_`{|}~";
    let atom_ok = |a: &str| {
        !a.is_empty()
            && a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || ATEXT_SPECIALS.contains(&b))
    };
    if local.len() > 64 || !local.split('.').all(atom_ok) {
        return Err(err());
    }
    let domain = parse_domain(domain).map_err(|_| err())?;
    Ok(format!("{}@{domain}", local.to_ascii_lowercase()))
}

/// A validated, lower-cased mailbox. Equality is therefore case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(v: &str) -> Result<Self, String> {
        parse_mailbox(v.trim()).map(EmailAddress)
    }

    /// The form under which an address is stored and looked up: trimmed and lower-cased.
    /// Not validated, so looking up something that is no address simply finds nothing.
    pub fn key(v: &str) -> String {
        v.trim().to_ascii_lowercase()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }

    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map(|(l, _)| l).unwrap_or_default()
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = String;
    fn try_from(v: String) -> Result<Self, String> {
        EmailAddress::parse(&v)
    }
}

impl From<EmailAddress> for String {
    fn from(a: EmailAddress) -> String {
        a.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_rules() {
        for ok in [
            "a@b.co",
            "first.last+tag@sub.example.com",
            "O'Neil@example.ie",
        ] {
            assert!(parse_mailbox(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "@example.com",
            "a@",
            "a b@example.com",
            ".a@example.com",
            "a.@example.com",
            "a..b@example.com",
            "\"quoted\"@example.com",
            "a@example",
            "a@-x.com",
            "<a@example.com>",
            "Name <a@example.com>",
            "a@example.com,b@example.com",
            "a@example.com\r\nBcc: x@evil.test",
            "a@exam_ple.com",
        ] {
            assert!(parse_mailbox(bad).is_err(), "{bad:?} should be rejected");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert!(parse_mailbox(&long_local).is_err());
        assert_eq!(parse_mailbox("Bob@Example.COM").unwrap(), "bob@example.com");
    }

    #[test]
    fn addresses_compare_case_insensitively() {
        let a = EmailAddress::parse("JDoe@Example.com").unwrap();
        let b = EmailAddress::parse(" jdoe@example.COM ").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.domain(), "example.com");
        assert_eq!(a.local_part(), "jdoe");
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, "\"jdoe@example.com\"");
        assert!(serde_json::from_str::<EmailAddress>("\"not an address\"").is_err());
        assert_eq!(EmailAddress::key(" JDoe@Example.com\t"), a.as_str());
        assert_eq!(EmailAddress::key("Not An Address"), "not an address");
    }
}
