//! Inbound mail: what SES received, from the SNS envelope to the forwarded copy. The pure
//! cores (`sns` envelope and signature, `ses` notification, `decide`, `rewrite`) do no I/O;
//! `pipeline` wires them to the store and the mailer; `s3` fetches large content; `local`
//! makes an `Inbound` from a file for `mailvend deliver`. Nothing here knows about HTTP.

use app::model::Outcome;
use serde::Serialize;

pub mod budget;
pub mod classify;
pub mod decide;
pub mod feedback;
pub mod local;
pub mod pipeline;
pub mod rewrite;
pub mod root_email;
pub mod rules;
pub mod s3;
pub mod ses;
pub mod sns;
pub mod trail;

/// One received message, with its content already in hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// SES's id (or `local-…` for `mailvend deliver`): the key for exactly-once forwarding.
    pub ses_message_id: String,
    /// The envelope sender.
    pub sender: String,
    pub recipients: Vec<String>,
    pub verdicts: Verdicts,
    pub subject: Option<String>,
    /// RFC 3339.
    pub received_at: String,
    pub raw: Vec<u8>,
}

/// Where one recipient ended up in this call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Forwarded,
    Undeliverable,
    Rejected,
    DeadLetter,
    /// Kept by its class's policy for an admin.
    Held,
    /// Settled by an earlier delivery of the same message; nothing was done.
    Duplicate,
    /// Not finished: another worker holds it, or the store failed. Worth delivering again.
    Retry,
}

impl Delivery {
    pub(crate) fn of(outcome: Outcome) -> Delivery {
        match outcome {
            Outcome::Forwarded => Delivery::Forwarded,
            Outcome::Undeliverable => Delivery::Undeliverable,
            Outcome::Rejected => Delivery::Rejected,
            Outcome::DeadLetter => Delivery::DeadLetter,
            Outcome::Held => Delivery::Held,
            Outcome::Processing => Delivery::Retry,
        }
    }

    /// The name the API, the CLI and the metrics use.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Forwarded => "forwarded",
            Delivery::Undeliverable => "undeliverable",
            Delivery::Rejected => "rejected",
            Delivery::DeadLetter => "dead_letter",
            Delivery::Held => "held",
            Delivery::Duplicate => "duplicate",
            Delivery::Retry => "retry",
        }
    }
}

/// One line of `mailvend deliver`'s output, and of `/sns`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Report {
    pub recipient: String,
    pub outcome: Delivery,
    /// The message log id (`<SES message id>/<recipient>`).
    pub message_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
    Gray,
    ProcessingFailed,
    Disabled,
    /// Absent, or a status SES may add later.
    Unknown,
}

impl Verdict {
    pub(crate) fn from_status(status: &str) -> Verdict {
        match status {
            "PASS" => Verdict::Pass,
            "FAIL" => Verdict::Fail,
            "GRAY" => Verdict::Gray,
            "PROCESSING_FAILED" => Verdict::ProcessingFailed,
            "DISABLED" => Verdict::Disabled,
            _ => Verdict::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Gray => "GRAY",
            Verdict::ProcessingFailed => "PROCESSING_FAILED",
            Verdict::Disabled => "DISABLED",
            Verdict::Unknown => "UNKNOWN",
        }
    }
}

/// The DMARC policy the sender's domain publishes, as SES reports it with a DMARC FAIL
/// (`receipt.dmarcPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DmarcRequest {
    None,
    Quarantine,
    Reject,
    /// Absent (SES only reports it with a failure) or unrecognised.
    Unknown,
}

impl DmarcRequest {
    pub(crate) fn from_name(name: &str) -> DmarcRequest {
        match name.to_ascii_lowercase().as_str() {
            "none" => DmarcRequest::None,
            "quarantine" => DmarcRequest::Quarantine,
            "reject" => DmarcRequest::Reject,
            _ => DmarcRequest::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DmarcRequest::None => "none",
            DmarcRequest::Quarantine => "quarantine",
            DmarcRequest::Reject => "reject",
            DmarcRequest::Unknown => "unknown",
        }
    }

    /// The domain asks receivers not to accept mail that fails (quarantine or reject).
    pub fn is_enforced(self) -> bool {
        matches!(self, DmarcRequest::Quarantine | DmarcRequest::Reject)
    }
}

impl Verdicts {
    /// All verdicts as the message log keeps them: `spam:PASS virus:PASS spf:PASS …`, and
    /// `dmarc_policy:reject` when SES reported the sender domain's policy.
    pub fn summary(&self) -> String {
        let mut parts: Vec<String> = self
            .named()
            .iter()
            .map(|(name, v)| format!("{name}:{}", v.as_str()))
            .collect();
        if self.dmarc_policy != DmarcRequest::Unknown {
            parts.push(format!("dmarc_policy:{}", self.dmarc_policy.as_str()));
        }
        parts.join(" ")
    }

    /// The SES sender-authentication failed and the sender's domain asks for enforcement: mail
    /// that most likely did not come from whom its From names.
    pub fn fails_enforced_dmarc(&self) -> bool {
        self.dmarc == Verdict::Fail && self.dmarc_policy.is_enforced()
    }

    /// Our `Authentication-Results` method results (RFC 8601 style, after the authserv-id):
    /// what SES found, so the owner's mail client and a reader of the header both see that the
    /// forwarded copy's own authentication (ours) says nothing about the original sender.
    pub fn authentication_results(&self) -> String {
        let lower = |v: Verdict| v.as_str().to_ascii_lowercase();
        let dmarc = match self.dmarc_policy {
            DmarcRequest::Unknown => lower(self.dmarc),
            p => format!(
                "{} policy.published-domain-policy={}",
                lower(self.dmarc),
                p.as_str()
            ),
        };
        format!(
            "spf={} (Amazon SES); dkim={} (Amazon SES); dmarc={dmarc} (Amazon SES); x-ses-spam={}; x-ses-virus={}",
            lower(self.spf),
            lower(self.dkim),
            lower(self.spam),
            lower(self.virus),
        )
    }

    /// The verdicts of a `summary` (a replay decides again from the log). Anything missing
    /// or unrecognised is `Unknown`.
    pub fn from_summary(summary: &str) -> Verdicts {
        let get = |name: &str| {
            summary
                .split_whitespace()
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix(':'))
                .map(Verdict::from_status)
                .unwrap_or(Verdict::Unknown)
        };
        Verdicts {
            spam: get("spam"),
            virus: get("virus"),
            spf: get("spf"),
            dkim: get("dkim"),
            dmarc: get("dmarc"),
            dmarc_policy: summary
                .split_whitespace()
                .find_map(|pair| pair.strip_prefix("dmarc_policy:"))
                .map(DmarcRequest::from_name)
                .unwrap_or(DmarcRequest::Unknown),
        }
    }

    fn named(&self) -> [(&'static str, Verdict); 5] {
        [
            ("spam", self.spam),
            ("virus", self.virus),
            ("spf", self.spf),
            ("dkim", self.dkim),
            ("dmarc", self.dmarc),
        ]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdicts {
    pub spam: Verdict,
    pub virus: Verdict,
    pub spf: Verdict,
    pub dkim: Verdict,
    pub dmarc: Verdict,
    pub dmarc_policy: DmarcRequest,
}
