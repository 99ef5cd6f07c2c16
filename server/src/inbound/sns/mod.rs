//! Amazon SNS HTTP messages: the envelope, the canonical string each message type is signed
//! over, the signing-certificate URL rules, and signature verification (SignatureVersion 1 =
//! SHA1withRSA, 2 = SHA256withRSA). Nothing in a message is acted on before `verify` passes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature::{
    UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY, RSA_PKCS1_2048_8192_SHA256,
};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Deserialize;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

/// The fields of an SNS HTTP message. Unknown fields are ignored (SNS may add some), but the
/// ones that are signed must be present as their type requires.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Envelope {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "MessageId")]
    pub message_id: String,
    #[serde(rename = "TopicArn")]
    pub topic_arn: String,
    #[serde(rename = "Subject")]
    pub subject: Option<String>,
    #[serde(rename = "Message")]
    pub message: String,
    #[serde(rename = "Timestamp")]
    pub timestamp: String,
    #[serde(rename = "SignatureVersion")]
    pub signature_version: String,
    #[serde(rename = "Signature")]
    pub signature: String,
    #[serde(rename = "SigningCertURL")]
    pub signing_cert_url: String,
    #[serde(rename = "Token")]
    pub token: Option<String>,
    #[serde(rename = "SubscribeURL")]
    pub subscribe_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnsError {
    #[error("not an SNS message: {0}")]
    Malformed(String),
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    #[error("{0} is required for a {1}")]
    MissingField(&'static str, String),
    #[error("unsupported SignatureVersion {0:?} (1 and 2 are accepted)")]
    UnknownVersion(String),
    #[error(
        "SigningCertURL is not an https:// URL of sns.<region>.amazonaws.com ending in .pem: {0:?}"
    )]
    CertUrl(String),
    #[error("the signing certificate cannot be used: {0}")]
    Certificate(String),
    /// The certificate could not be fetched (network, SNS answering 5xx): try again later.
    #[error("fetching the signing certificate failed: {0}")]
    CertFetch(String),
    #[error("the signature does not match the message")]
    BadSignature,
    /// Signed, but too old (or dated ahead): a captured notification posted again.
    #[error("{0}")]
    Stale(String),
}

/// How far ahead of our clock a `Timestamp` may be (clock skew), before it is refused.
pub const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

/// Whether a verified notification's signed `Timestamp` is recent: older than `max_age`
/// (`MAILVEND_SNS_MAX_AGE`), or more than `MAX_SKEW` ahead of `now`, it is a replay of a
/// captured message, refused however valid its signature (issue 22 item 3).
pub fn check_age(timestamp: &str, now: SystemTime, max_age: Duration) -> Result<(), SnsError> {
    let at = humantime::parse_rfc3339_weak(timestamp.trim_end_matches('Z'))
        .or_else(|_| humantime::parse_rfc3339(timestamp))
        .map_err(|_| {
            SnsError::Malformed(format!("Timestamp {timestamp:?} is not an RFC 3339 time"))
        })?;
    if at > now + MAX_SKEW {
        return Err(SnsError::Stale(format!(
            "Timestamp {timestamp} is in the future (more than {} ahead of this server's clock)",
            humantime::format_duration(MAX_SKEW)
        )));
    }
    if now.duration_since(at).unwrap_or_default() > max_age {
        return Err(SnsError::Stale(format!(
            "Timestamp {timestamp} is older than MAILVEND_SNS_MAX_AGE ({}): a replayed notification",
            humantime::format_duration(max_age)
        )));
    }
    Ok(())
}

/// Parses the body SNS posted (its Content-Type is text/plain, whatever it holds).
pub fn parse(body: &[u8]) -> Result<Envelope, SnsError> {
    serde_json::from_slice(body).map_err(|e| SnsError::Malformed(e.to_string()))
}

/// The text SNS signs: `Key\nValue\n` for each signed key, in this order.
pub fn canonical_string(env: &Envelope) -> Result<String, SnsError> {
    let mut out = String::with_capacity(env.message.len() + 512);
    let mut add = |k: &str, v: &str| {
        out.push_str(k);
        out.push('\n');
        out.push_str(v);
        out.push('\n');
    };
    match env.kind.as_str() {
        "Notification" => {
            add("Message", &env.message);
            add("MessageId", &env.message_id);
            if let Some(subject) = &env.subject {
                add("Subject", subject);
            }
            add("Timestamp", &env.timestamp);
            add("TopicArn", &env.topic_arn);
            add("Type", &env.kind);
        }
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => {
            let subscribe_url = env
                .subscribe_url
                .as_deref()
                .ok_or_else(|| SnsError::MissingField("SubscribeURL", env.kind.clone()))?;
            let token = env
                .token
                .as_deref()
                .ok_or_else(|| SnsError::MissingField("Token", env.kind.clone()))?;
            add("Message", &env.message);
            add("MessageId", &env.message_id);
            add("SubscribeURL", subscribe_url);
            add("Timestamp", &env.timestamp);
            add("Token", token);
            add("TopicArn", &env.topic_arn);
            add("Type", &env.kind);
        }
        other => return Err(SnsError::UnknownType(other.to_string())),
    }
    Ok(out)
}

/// Whether `url` is an SNS endpoint: `https://sns.<region>.amazonaws.com[.cn]/…`, no port,
/// no user info. Used for the signing certificate and for the subscription-confirmation URL.
pub fn is_sns_url(url: &str) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    let Some(host) = u.host_str() else {
        return false;
    };
    let (region, china) = match host.strip_prefix("sns.") {
        Some(rest) => match rest.strip_suffix(".amazonaws.com.cn") {
            Some(r) => (r, true),
            None => (
                rest.strip_suffix(".amazonaws.com").unwrap_or_default(),
                false,
            ),
        },
        None => ("", false),
    };
    u.scheme() == "https"
        && u.port().is_none()
        && u.username().is_empty()
        && u.password().is_none()
        && is_region(region)
        && china == region.starts_with("cn-")
}

/// An AWS region name: `us-east-1`, `eu-central-2`, `ap-southeast-4`, `us-gov-west-1`,
/// `cn-north-1`, `us-isob-east-1`. Anything else after `sns.` is some other service's host:
/// `sns.s3.amazonaws.com` is an S3 bucket named `sns`, which anyone can create and fill with
/// a certificate of their own (issue 22 item 4).
pub fn is_region(name: &str) -> bool {
    const DIRECTIONS: &[&str] = &[
        "east",
        "west",
        "north",
        "south",
        "central",
        "northeast",
        "northwest",
        "southeast",
        "southwest",
    ];
    let parts: Vec<&str> = name.split('-').collect();
    let (first, rest) = match parts.split_first() {
        Some(p) => p,
        None => return false,
    };
    let rest = match rest {
        [qualifier, rest @ ..]
            if matches!(*qualifier, "gov" | "iso" | "isob" | "isof" | "isoe") =>
        {
            rest
        }
        rest => rest,
    };
    first.len() == 2
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && matches!(rest, [direction, number]
            if DIRECTIONS.contains(direction)
                && (1..=2).contains(&number.len())
                && number.bytes().all(|b| b.is_ascii_digit()))
}

/// The certificate URL rules, plus the `.pem` file name the pinned-certificate directory uses.
pub fn cert_file_name(url: &str) -> Result<String, SnsError> {
    let bad = || SnsError::CertUrl(url.to_string());
    if !is_sns_url(url) {
        return Err(bad());
    }
    let u = url::Url::parse(url).map_err(|_| bad())?;
    if u.query().is_some() || u.fragment().is_some() {
        return Err(bad());
    }
    let name = u
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or_default();
    let name_ok = name.ends_with(".pem")
        && name.len() > 4
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if name_ok {
        Ok(name.to_string())
    } else {
        Err(bad())
    }
}

/// Checks `env`'s signature against the PEM certificate `cert_pem`, valid at `now`.
pub fn verify(env: &Envelope, cert_pem: &[u8], now: SystemTime) -> Result<(), SnsError> {
    verify_inner(env, None, cert_pem, now)
}

/// `verify`, for a caller that already made `env`'s canonical string (the endpoint makes it
/// first, to name a missing field before fetching a certificate); a message's text can be
/// 256 KB, so it is not built twice.
pub fn verify_canonical(
    env: &Envelope,
    canonical: &str,
    cert_pem: &[u8],
    now: SystemTime,
) -> Result<(), SnsError> {
    verify_inner(env, Some(canonical), cert_pem, now)
}

fn verify_inner(
    env: &Envelope,
    canonical: Option<&str>,
    cert_pem: &[u8],
    now: SystemTime,
) -> Result<(), SnsError> {
    let algorithm: &'static dyn aws_lc_rs::signature::VerificationAlgorithm =
        match env.signature_version.as_str() {
            "1" => &RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            "2" => &RSA_PKCS1_2048_8192_SHA256,
            other => return Err(SnsError::UnknownVersion(other.to_string())),
        };
    cert_file_name(&env.signing_cert_url)?;
    let made;
    let canonical = match canonical {
        Some(c) => c,
        None => {
            made = canonical_string(env)?;
            &made
        }
    };
    let signature = STANDARD
        .decode(env.signature.as_bytes())
        .map_err(|_| SnsError::BadSignature)?;

    let (_, pem) = x509_parser::pem::parse_x509_pem(cert_pem)
        .map_err(|e| SnsError::Certificate(format!("not PEM: {e}")))?;
    let cert = pem
        .parse_x509()
        .map_err(|e| SnsError::Certificate(format!("not X.509: {e}")))?;
    let at = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let validity = cert.validity();
    if at < validity.not_before.timestamp() || at > validity.not_after.timestamp() {
        return Err(SnsError::Certificate(format!(
            "not valid at this time (valid {} to {})",
            validity.not_before, validity.not_after
        )));
    }
    check_identity(&cert, &env.signing_cert_url)?;
    let key = cert.public_key().subject_public_key.data.as_ref();
    UnparsedPublicKey::new(algorithm, key)
        .verify(canonical.as_bytes(), &signature)
        .map_err(|_| SnsError::BadSignature)
}

/// The certificate must be SNS's own: named, in its subject alternative names or common name,
/// as SNS names its signing certificates for the URL's region (`signing_names`), and issued by
/// Amazon. A certificate fetched from an allowed host but made for anything else (another AWS
/// service's, a test one) signs nothing we believe (issue 22 item 4). The issuer is checked by
/// name: SNS serves the leaf alone, so no chain is built; what vouches for it is the HTTPS
/// fetch from an SNS host (or the operator's pinned copy). In the China partition, whose
/// certificates another authority may issue, only the name is checked.
fn check_identity(cert: &X509Certificate<'_>, url: &str) -> Result<(), SnsError> {
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    let wanted = signing_names(&host);
    let mut names: Vec<String> = cert
        .subject()
        .iter_common_name()
        .filter_map(|c| c.as_str().ok().map(str::to_string))
        .collect();
    match cert.subject_alternative_name() {
        Ok(Some(ext)) => names.extend(ext.value.general_names.iter().filter_map(|n| match n {
            GeneralName::DNSName(d) => Some(d.to_string()),
            _ => None,
        })),
        Ok(None) => {}
        Err(e) => return Err(SnsError::Certificate(format!("unreadable names: {e}"))),
    }
    if !names
        .iter()
        .any(|n| wanted.contains(&n.to_ascii_lowercase()))
    {
        return Err(SnsError::Certificate(format!(
            "issued to {names:?}, not sns.amazonaws.com (or {host}'s signing name)"
        )));
    }
    let china = host.ends_with(".amazonaws.com.cn");
    let amazon = cert
        .issuer()
        .iter_organization()
        .filter_map(|o| o.as_str().ok())
        .any(|o| o == "Amazon");
    if !amazon && !china {
        return Err(SnsError::Certificate(format!(
            "issued by {:?}, not by Amazon",
            cert.issuer().to_string()
        )));
    }
    Ok(())
}

/// The names SNS gives the certificates it signs with for the region of `host`
/// (`sns.<region>.amazonaws.com[.cn]`): `sns.amazonaws.com` in most regions, and per-region
/// names in opt-in regions (`sns-signing.<region>.amazonaws.com`), GovCloud
/// (`sns-us-gov-west-1.amazonaws.com`) and China (`sns-<region>.amazonaws.com.cn`), as AWS's
/// own SDKs expect them.
pub fn signing_names(host: &str) -> Vec<String> {
    let mut names = vec!["sns.amazonaws.com".to_string()];
    let Some(rest) = host.strip_prefix("sns.") else {
        return names;
    };
    let (region, suffix) = match rest.strip_suffix(".amazonaws.com.cn") {
        Some(r) => (r, "amazonaws.com.cn"),
        None => match rest.strip_suffix(".amazonaws.com") {
            Some(r) => (r, "amazonaws.com"),
            None => return names,
        },
    };
    if !is_region(region) {
        return names;
    }
    names.push(host.to_string());
    names.push(format!("sns-signing.{region}.{suffix}"));
    names.push(format!("sns-{region}.{suffix}"));
    if region.starts_with("us-gov-") {
        names.push("sns-us-gov-west-1.amazonaws.com".into());
    }
    names
}

pub mod certs;
pub mod endpoint;
pub mod https;
#[cfg(test)]
mod tests;
