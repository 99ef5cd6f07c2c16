//! What kind of mail a message is (#18), with no I/O: the domains SES authenticated it for,
//! and its subject, against a table of AWS's root mail. Only an authenticated sender domain
//! counts, so a spoofed "Password Assistance" from anywhere stays `other`.
//!
//! The table (`BUILT_IN`) is built from AWS's documentation and real mail as quoted in public
//! sources (docs/design/mail-classes.md lists each row's source); rows are tried in order and
//! the first whose domain and subject match wins.

use app::model::MailClass;

use crate::inbound::{Verdict, Verdicts};

/// The domains AWS sends root mail from, compared exactly (other subdomains of amazonaws.com
/// are anybody's hosts). AWS has moved senders over the years (amazon.com to
/// verify.signin.aws, signup.aws and aws.com): docs/design/mail-classes.md.
pub const AWS_DOMAINS: [&str; 10] = [
    "amazon.com",
    "email.amazon.com",
    "aws.amazon.com",
    "amazonaws.com",
    "costalerts.amazonaws.com",
    "aws.com",
    "signin.aws",
    "verify.signin.aws",
    "signup.aws",
    "email.aws",
];

/// One row: mail authenticated for one of `domains` whose subject contains `subject` (any
/// case, spaces collapsed) is `class`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassRule {
    pub class: MailClass,
    pub domains: Vec<String>,
    pub subject: String,
}

/// The built-in rows: (class, subject fragment), for mail from `AWS_DOMAINS`, first match
/// wins. Each fragment is from a real subject (docs/design/mail-classes.md gives the source);
/// those marked "inferred" follow AWS's documentation where no real mail was found.
const BUILT_IN: &[(MailClass, &str)] = &[
    // Credentials: the keys to the account.
    (MailClass::Credential, "password assistance"),
    (
        MailClass::Credential,
        "verify your aws account root user email address",
    ),
    (MailClass::Credential, "verify the new email address"),
    (MailClass::Credential, "email verification"),
    (MailClass::Credential, "verification code"), // inferred
    (MailClass::Credential, "mfa device"),        // inferred
    // Security.
    (MailClass::Security, "abuse report"),
    (MailClass::Security, "access key is exposed"),
    (MailClass::Security, "is compromised"),
    (MailClass::Security, "may be compromised"),
    (MailClass::Security, "irregular activity"),
    // The account itself.
    (MailClass::Account, "welcome to amazon web services"),
    (MailClass::Account, "your aws account is ready"),
    (MailClass::Account, "sign-up confirmation"),
    (MailClass::Account, "has been suspended"),
    (MailClass::Account, "account has been closed"), // inferred
    (MailClass::Account, "account is closed"),       // inferred
    (MailClass::Account, "reinstated"),              // inferred
    // Billing.
    (MailClass::Billing, "invoice available"),
    (MailClass::Billing, "billing statement available"),
    (MailClass::Billing, "aws budgets"),
    (MailClass::Billing, "free tier limit alert"),
    (MailClass::Billing, "cost anomaly"),
    // Operational notices and marketing.
    (MailClass::Notice, "awsome day"),
    (MailClass::Notice, "newsletter"),
    (MailClass::Notice, "webinar"),
];

fn collapse(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The envelope sender's domain (or any address's), lower-cased.
pub(crate) fn domain_of(sender: &str) -> String {
    sender
        .trim()
        .trim_matches(['<', '>'])
        .rsplit_once('@')
        .map_or("", |(_, d)| d)
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// The domain of the From header's one mailbox; `None` unless the message has exactly one
/// From header naming exactly one mailbox (RFC 5322 parsed: comments, display names and
/// encoded words cannot pass for the address).
pub(crate) fn header_from_domain(raw: &[u8]) -> Option<String> {
    let message = mail_parser::MessageParser::default().parse_headers(raw)?;
    let froms = message
        .headers()
        .iter()
        .filter(|h| h.name == mail_parser::HeaderName::From)
        .count();
    if froms != 1 {
        return None;
    }
    let [one] = message.from()?.as_list()? else {
        return None;
    };
    Some(domain_of(one.address()?)).filter(|d| !d.is_empty())
}

/// What SES authenticated of a message's sender, read once per message (the From header is
/// parsed only when DMARC passed): the classes and the root email jobs both judge from it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Senders {
    /// The envelope sender's domain, when SPF passed.
    pub envelope: Option<String>,
    /// The domain of the From header's one mailbox, when DMARC passed (DMARC's pass means
    /// that domain is aligned with one that SPF or DKIM authenticated).
    pub from: Option<String>,
}

impl Senders {
    pub fn read(sender: &str, raw: &[u8], verdicts: &Verdicts) -> Senders {
        Senders {
            envelope: (verdicts.spf == Verdict::Pass)
                .then(|| domain_of(sender))
                .filter(|d| !d.is_empty()),
            from: (verdicts.dmarc == Verdict::Pass)
                .then(|| header_from_domain(raw))
                .flatten(),
        }
    }

    /// Every domain SES authenticated the message for, once each.
    pub fn domains(&self) -> Vec<String> {
        let mut domains: Vec<String> = self.envelope.iter().chain(&self.from).cloned().collect();
        domains.dedup();
        domains
    }
}

/// The table: configured rows first (an operator's word wins), then the built-in ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classifier {
    rules: Vec<ClassRule>,
}

impl Default for Classifier {
    fn default() -> Self {
        Classifier::with_rules(Vec::new())
    }
}

impl Classifier {
    pub fn with_rules(extra: Vec<ClassRule>) -> Classifier {
        let aws: Vec<String> = AWS_DOMAINS.iter().map(|d| d.to_string()).collect();
        let mut rules: Vec<ClassRule> = extra
            .into_iter()
            .map(|r| ClassRule {
                subject: collapse(&r.subject),
                domains: r.domains.iter().map(|d| d.to_ascii_lowercase()).collect(),
                ..r
            })
            .collect();
        rules.extend(BUILT_IN.iter().map(|(class, subject)| ClassRule {
            class: *class,
            domains: aws.clone(),
            subject: subject.to_string(),
        }));
        Classifier { rules }
    }

    /// The class of mail authenticated for `domains` with `subject`: the first matching row's,
    /// else `other`. AWS mail no row knows is `other` too, not `notice`: new wording of a
    /// credential mail must not fall under a policy meant for newsletters.
    pub fn classify(&self, domains: &[String], subject: &str) -> MailClass {
        let subject = collapse(subject);
        self.rules
            .iter()
            .find(|r| domains.iter().any(|d| r.domains.contains(d)) && subject.contains(&r.subject))
            .map_or(MailClass::Other, |r| r.class)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbound::DmarcRequest;
    use Verdict::{Fail, Gray, Pass};

    fn verdicts(spf: Verdict, dmarc: Verdict) -> Verdicts {
        Verdicts {
            spam: Pass,
            virus: Pass,
            spf,
            dkim: Pass,
            dmarc,
            dmarc_policy: DmarcRequest::Unknown,
        }
    }

    /// A message as SES hands it over: its envelope sender, From header and subject.
    fn raw(from: &str, subject: &str) -> Vec<u8> {
        format!("From: {from}\r\nSubject: {subject}\r\n\r\nbody\r\n").into_bytes()
    }

    /// The corpus: (case, envelope sender, From header, subject, SPF, DMARC, class). The
    /// senders and subjects are AWS's as its documentation and quoted mail show them
    /// (docs/design/mail-classes.md); the last rows are look-alikes that must stay `other`.
    #[test]
    fn each_sample_gets_its_class() {
        let corpus: &[(&str, &str, &str, &str, Verdict, Verdict, MailClass)] = &[
            (
                "root password reset",
                "password-reset-no-reply@verify.signin.aws",
                "Amazon Web Services <password-reset-no-reply@verify.signin.aws>",
                "Amazon Web Services Password Assistance",
                Pass,
                Pass,
                MailClass::Credential,
            ),
            (
                "root email check when the MFA device is lost",
                "recover-mfa-no-reply@verify.signin.aws",
                "recover-mfa-no-reply@verify.signin.aws",
                "Verify your AWS account root user email address",
                Pass,
                Pass,
                MailClass::Credential,
            ),
            (
                "new root email verification (Account API)",
                "no-reply@verify.signin.aws",
                "AWS <no-reply@verify.signin.aws>",
                "Verify the new email address for the AWS account root user",
                Pass,
                Pass,
                MailClass::Credential,
            ),
            (
                "sign-up email code",
                "no-reply@signup.aws",
                "no-reply@signup.aws",
                "AWS Email Verification",
                Pass,
                Pass,
                MailClass::Credential,
            ),
            (
                "a reset through a bounce domain, DMARC passing for verify.signin.aws",
                "0100018c@us-east-1.amazonses.com",
                "Amazon Web Services <password-reset-no-reply@verify.signin.aws>",
                "Amazon Web Services Password Assistance",
                Pass,
                Pass,
                MailClass::Credential,
            ),
            (
                "EC2 abuse report",
                "ec2-abuse@amazon.com",
                "AWS Trust & Safety <ec2-abuse@amazon.com>",
                "Your Amazon EC2 Abuse Report [12345678]",
                Pass,
                Pass,
                MailClass::Security,
            ),
            (
                "exposed access key (a support case)",
                "no-reply-aws@amazon.com",
                "no-reply-aws@amazon.com",
                "ACTION REQUIRED: Your AWS Access Key is Exposed for AWS Account 123456789012",
                Pass,
                Pass,
                MailClass::Security,
            ),
            (
                "compromised account (older case subject)",
                "no-reply-aws@amazon.com",
                "no-reply-aws@amazon.com",
                "Your AWS account 123456789012 is compromised",
                Pass,
                Pass,
                MailClass::Security,
            ),
            (
                "unusual key use",
                "no-reply-aws@amazon.com",
                "no-reply-aws@amazon.com",
                "Irregular Activity Detected for Your AWS Access Key",
                Pass,
                Pass,
                MailClass::Security,
            ),
            (
                "welcome",
                "no-reply-aws@amazon.com",
                "Amazon Web Services <no-reply-aws@amazon.com>",
                "Welcome to Amazon Web Services",
                Pass,
                Pass,
                MailClass::Account,
            ),
            (
                "account ready",
                "no-reply-aws@amazon.com",
                "no-reply-aws@amazon.com",
                "Your AWS Account is Ready - Get Started Now",
                Pass,
                Pass,
                MailClass::Account,
            ),
            (
                "suspended for non-payment",
                "no-reply-aws@amazon.com",
                "no-reply-aws@amazon.com",
                "Your AWS Account has been suspended for non-payment",
                Pass,
                Pass,
                MailClass::Account,
            ),
            (
                "billing statement",
                "invoicing@aws.com",
                "invoicing@aws.com",
                "Amazon Web Services Billing Statement Available [Account: 123456789012]",
                Pass,
                Pass,
                MailClass::Billing,
            ),
            (
                "invoice (older sender)",
                "aws-receivables-support@email.amazon.com",
                "aws-receivables-support@email.amazon.com",
                "Amazon Web Services Invoice Available",
                Pass,
                Pass,
                MailClass::Billing,
            ),
            (
                "budget alert",
                "budgets@costalerts.amazonaws.com",
                "AWS Budgets <budgets@costalerts.amazonaws.com>",
                "AWS Budgets: prod-monthly has exceeded your alert threshold",
                Pass,
                Pass,
                MailClass::Billing,
            ),
            (
                "free tier alert",
                "freetier@costalerts.amazonaws.com",
                "AWS Free Tier <freetier@costalerts.amazonaws.com>",
                "AWS Free Tier limit alert",
                Pass,
                Pass,
                MailClass::Billing,
            ),
            (
                "marketing",
                "aws-marketing-email-replies@amazon.com",
                "aws-marketing-email-replies@amazon.com",
                "Don't miss your chance to join us for AWSome Day Online",
                Pass,
                Pass,
                MailClass::Notice,
            ),
            (
                "AWS mail no row knows (a Health notice): other, not a notice",
                "health@aws.com",
                "health@aws.com",
                "[Action may be required] Amazon RDS planned lifecycle event",
                Pass,
                Pass,
                MailClass::Other,
            ),
            // Look-alikes.
            (
                "spoofed reset: SPF and DMARC fail",
                "password-reset-no-reply@verify.signin.aws",
                "Amazon Web Services <password-reset-no-reply@verify.signin.aws>",
                "Amazon Web Services Password Assistance",
                Fail,
                Fail,
                MailClass::Other,
            ),
            (
                "spoofed free tier alert (a phishing sample's sender), SPF fails",
                "freetier@costalerts.amazonaws.com",
                "freetier@costalerts.amazonaws.com",
                "AWS Free Tier limit alert",
                Fail,
                Gray,
                MailClass::Other,
            ),
            (
                "a stranger's domain with AWS's subject",
                "support@aws-security.example",
                "AWS Security <support@aws-security.example>",
                "Amazon Web Services Password Assistance",
                Pass,
                Pass,
                MailClass::Other,
            ),
            (
                "AWS's address in a From comment, DMARC passing for the stranger",
                "x@attacker.example",
                "x@attacker.example (ec2-abuse@amazon.com)",
                "Your Amazon EC2 Abuse Report",
                Pass,
                Pass,
                MailClass::Other,
            ),
            (
                "an EC2 host's name under amazonaws.com",
                "root@ec2-1-2-3-4.compute-1.amazonaws.com",
                "root@ec2-1-2-3-4.compute-1.amazonaws.com",
                "Amazon Web Services Password Assistance",
                Pass,
                Gray,
                MailClass::Other,
            ),
        ];
        let c = Classifier::default();
        for (case, sender, from, subject, spf, dmarc, want) in corpus {
            let domains =
                Senders::read(sender, &raw(from, subject), &verdicts(*spf, *dmarc)).domains();
            assert_eq!(c.classify(&domains, subject), *want, "{case} ({domains:?})");
        }
    }

    #[test]
    fn the_sender_domain_is_the_envelope_senders() {
        assert_eq!(domain_of("no-reply@verify.signin.aws"), "verify.signin.aws");
        assert_eq!(domain_of("<bounce@signin.aws>"), "signin.aws");
        assert_eq!(domain_of(""), "");
        assert_eq!(domain_of("<>"), "");
    }

    #[test]
    fn configured_rows_come_first() {
        let c = Classifier::with_rules(vec![ClassRule {
            class: MailClass::Security,
            domains: vec!["Corp.Example".into()],
            subject: "Security  Alert".into(),
        }]);
        let corp = vec!["corp.example".to_string()];
        assert_eq!(
            c.classify(&corp, "[SECURITY ALERT] login"),
            MailClass::Security
        );
        assert_eq!(c.classify(&corp, "lunch"), MailClass::Other);
        let aws = vec!["amazon.com".to_string()];
        assert_eq!(
            c.classify(&aws, "Amazon Web Services Password Assistance"),
            MailClass::Credential
        );
    }

    #[test]
    fn only_authenticated_domains_count() {
        let from = raw("Jane <jane@corp.example>", "x");
        assert_eq!(
            Senders::read("bounce@mail.corp.example", &from, &verdicts(Pass, Pass)).domains(),
            ["mail.corp.example", "corp.example"]
        );
        assert!(
            Senders::read("bounce@mail.corp.example", &from, &verdicts(Fail, Fail))
                .domains()
                .is_empty()
        );
        assert_eq!(
            Senders::read("bounce@mail.corp.example", &from, &verdicts(Gray, Pass)).domains(),
            ["corp.example"]
        );
    }
}
