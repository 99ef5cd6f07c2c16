//! Sending forwarded mail. One trait, three senders: the local outbox (the default), SES v2
//! (production) and an SMTP relay. The pipeline retries `Transient` failures and dead-letters
//! the rest.

pub mod outbox;
pub mod ses;
pub mod smtp;

use async_trait::async_trait;

/// One message to send, exactly as it will leave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Envelope and `From` address: the configured forwarder address.
    pub from: String,
    /// Envelope recipients (the mapping's owner, or the admin address).
    pub to: Vec<String>,
    /// The rewritten message, headers and body.
    pub raw: Vec<u8>,
    /// SES's id of the message this forwards.
    pub source_message_id: String,
    /// The vended address it was sent to.
    pub recipient: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later (throttling, network, 5xx).
    #[error("temporary send failure: {0}")]
    Transient(String),
    /// Will fail the same way again (rejected message, unverified sender).
    #[error("send rejected: {0}")]
    Permanent(String),
}

#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Sends `msg`; returns the sender's id for it (for the message log).
    async fn send(&self, msg: &Outgoing) -> Result<String, SendError>;

    /// Why the mailer will drop whatever is sent to `to` without trying (SES's account-level
    /// suppression list), if it will; `None` for mailers without such a list. An error is a
    /// failure to ask, which the caller takes for "not known".
    async fn suppressed(&self, _to: &str) -> Result<Option<String>, SendError> {
        Ok(None)
    }
}

/// The mailer `MAILVEND_MAILER` names; SES sends carry `configuration_set` when given.
pub async fn open(
    url: &crate::config::MailerUrl,
    configuration_set: Option<&str>,
) -> Result<std::sync::Arc<dyn Mailer>, String> {
    use crate::config::MailerUrl;
    Ok(match url {
        MailerUrl::Outbox(dir) => std::sync::Arc::new(outbox::Outbox::new(dir.clone())),
        MailerUrl::Ses => {
            let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .load()
                .await;
            std::sync::Arc::new(
                ses::SesMailer::new(&config).with_configuration_set(configuration_set),
            )
        }
        MailerUrl::Smtp { host, port } => std::sync::Arc::new(smtp::SmtpMailer::new(host, *port)?),
    })
}
