//! Root email change jobs (#17): each step of a job, and the inbound side that finishes one.
//! A job is started (`StartPrimaryEmailUpdate`: AWS mails a code to the new address, one of
//! ours); when that mail arrives, SES-authenticated from AWS's sign-in domain with AWS's
//! subject, for an address with an open job, its code is read, used at once with
//! `AcceptPrimaryEmailUpdate`, and the message is neither forwarded nor kept: it is a
//! credential. Every step is a compare-and-set on the job's state, so two servers (or two
//! deliveries of one notification) take it once, and is audited on the address, never with
//! the code.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use app::model::{AuditEntry, Mapping};
use app::org::{JobState, LinkedAccount, OrgAccount, RootEmailJob};

use crate::clock::{before, rfc3339};
use crate::inbound::classify::Senders;
use crate::inbound::{Verdict, Verdicts};
use crate::organizations::root_email::{ChangeError, RootEmailApi, UpdateStatus};
use crate::organizations::verification::{code_in, Recogniser};
use crate::secret::Secret;
use crate::store::{AccountStore, MappingChange, MappingStore, StoreError, Stores};

/// Who the audit log names for the steps mailvend takes on its own.
pub const JOB_ACTOR: &str = "root-email-job";

/// How many codes AWS refuses before a job fails `rejected_code`: codes of other requests to
/// the same address may arrive first.
const MAX_REFUSED_CODES: u32 = 3;

/// How long a job may sit in `code_received` (its Accept cut short by a stopped server)
/// before it is looked at again: finished if AWS took the code, else failed, so that an admin
/// can retry it. Well over an Account API call's longest (`root_email::OPERATION_TIMEOUT`).
const ACCEPT_WAIT: Duration = Duration::from_secs(300);

pub struct RootEmails {
    accounts: Arc<dyn AccountStore>,
    mappings: Arc<dyn MappingStore>,
    api: Arc<dyn RootEmailApi>,
    recogniser: Recogniser,
    code_wait: Duration,
}

/// Whether SES authenticated the mail as coming from one of AWS's sender domains, with AWS's
/// subject: SPF passed for the envelope sender's domain (with DKIM passing and DMARC not
/// failing), or DMARC passed for the From header's domain (AWS may send through a bounce
/// domain of its own, so the envelope sender alone is not enough to recognise its mail).
fn from_aws(
    recogniser: &Recogniser,
    senders: &Senders,
    subject: &str,
    verdicts: &Verdicts,
) -> bool {
    let by_envelope = verdicts.dkim == Verdict::Pass
        && verdicts.dmarc != Verdict::Fail
        && senders
            .envelope
            .as_deref()
            .is_some_and(|d| recogniser.matches(d, subject));
    by_envelope
        || senders
            .from
            .as_deref()
            .is_some_and(|d| recogniser.matches(d, subject))
}

/// The text of a mail: its first text part, or its HTML part as text (MIME decoded).
fn text_of(raw: &[u8]) -> Option<String> {
    let message = mail_parser::MessageParser::default().parse(raw)?;
    message.body_text(0).map(|t| t.into_owned())
}

impl RootEmails {
    pub fn new(
        stores: &Stores,
        api: Arc<dyn RootEmailApi>,
        recogniser: Recogniser,
        code_wait: Duration,
    ) -> RootEmails {
        RootEmails {
            accounts: stores.accounts.clone(),
            mappings: stores.mappings.clone(),
            api,
            recogniser,
            code_wait,
        }
    }

    /// Moves `to`'s job on from `from`, audited as `actor`; `false` when it was no longer in
    /// `from` (another server or delivery took the step).
    pub async fn step(
        &self,
        from: JobState,
        to: &RootEmailJob,
        actor: &str,
    ) -> Result<bool, StoreError> {
        if !self.accounts.transition(from, to).await? {
            return Ok(false);
        }
        self.audit(to, actor).await?;
        Ok(true)
    }

    /// One audit entry for the job as it now stands, on its address.
    pub async fn audit(&self, job: &RootEmailJob, actor: &str) -> Result<(), StoreError> {
        let after = serde_json::json!({
            "account_id": job.account_id,
            "state": job.state.as_str(),
            "reason": job.reason,
            "attempts": job.attempts,
            "detail": job.detail,
        });
        self.mappings
            .append_audit(&AuditEntry {
                at: job.updated_at.clone(),
                actor: actor.to_string(),
                action: "root_email_job".into(),
                subject: job.address.clone(),
                before: None,
                after: Some(after.to_string()),
            })
            .await
    }

    fn failed(job: &RootEmailJob, reason: &str, detail: String) -> RootEmailJob {
        RootEmailJob {
            state: JobState::Failed,
            reason: Some(reason.to_string()),
            detail,
            updated_at: rfc3339(SystemTime::now()),
            ..job.clone()
        }
    }

    /// Starts a queued job: claims it (`queued` → `requested`), then asks AWS to mail the
    /// code. The job as it stands after; unchanged when another server claimed it first.
    pub async fn start(&self, job: &RootEmailJob) -> Result<RootEmailJob, StoreError> {
        let requested = RootEmailJob {
            state: JobState::Requested,
            detail: format!(
                "StartPrimaryEmailUpdate called: AWS mails a code to {}",
                job.address
            ),
            updated_at: rfc3339(SystemTime::now()),
            ..job.clone()
        };
        if !self.step(JobState::Queued, &requested, JOB_ACTOR).await? {
            return Ok(self
                .accounts
                .job(&job.account_id)
                .await?
                .unwrap_or(requested));
        }
        match self.api.start(&job.account_id, &job.address).await {
            Ok(UpdateStatus::Pending) => Ok(requested),
            Ok(UpdateStatus::Accepted) => self.accepted(&requested, JobState::Requested).await,
            Err(e) => {
                let failed = Self::failed(&requested, e.reason(), e.to_string());
                self.step(JobState::Requested, &failed, JOB_ACTOR).await?;
                Ok(failed)
            }
        }
    }

    /// Fails the jobs of `jobs` (as just read) that waited too long: no code within the wait
    /// (`expired`), or an Accept cut short. Each step is a compare-and-set, so a job that
    /// moved on since it was read is left as it is. How many it failed.
    pub async fn expire(&self, jobs: &[RootEmailJob], now: SystemTime) -> Result<u32, StoreError> {
        let no_code_since = before(now, self.code_wait);
        let no_accept_since = before(now, ACCEPT_WAIT);
        let mut failed = 0;
        for job in jobs {
            let to = match job.state {
                JobState::Requested if job.updated_at < no_code_since => Self::failed(
                    job,
                    "expired",
                    format!(
                        "AWS's verification mail did not arrive within {} min",
                        self.code_wait.as_secs() / 60
                    ),
                ),
                JobState::CodeReceived if job.updated_at < no_accept_since => {
                    // Its Accept was cut short: AWS may have taken the code all the same.
                    if self
                        .api
                        .primary_email(&job.account_id)
                        .await
                        .ok()
                        .as_deref()
                        == Some(job.address.as_str())
                    {
                        let done = self.accepted(job, JobState::CodeReceived).await?;
                        failed += u32::from(done.state != JobState::Accepted);
                        continue;
                    }
                    Self::failed(
                        job,
                        "failed",
                        "the code arrived but accepting it did not finish (a server stopped?); retry"
                            .into(),
                    )
                }
                _ => continue,
            };
            failed += u32::from(self.step(job.state, &to, JOB_ACTOR).await?);
        }
        Ok(failed)
    }

    /// What becomes of one recipient's copy of a received message: `Some(detail)` when it is
    /// AWS's verification mail for an address with a job not yet accepted, and so is used
    /// (or, arriving out of turn, dropped), never forwarded or kept; `None` for any other mail
    /// (a change a human started in the console has no job: its mail is forwarded as usual,
    /// as is AWS's mail once the change is done). `mapping` is the recipient's, if any.
    pub async fn take(
        &self,
        recipient: &str,
        mapping: Option<&Mapping>,
        senders: &Senders,
        subject: Option<&str>,
        verdicts: &Verdicts,
        raw: &[u8],
    ) -> Result<Option<String>, StoreError> {
        // A look-alike that SES did not authenticate for AWS's domain is just mail.
        if !from_aws(&self.recogniser, senders, subject.unwrap_or(""), verdicts) {
            return Ok(None);
        }
        let job = match self.accounts.open_job_for(recipient).await? {
            Some(job) => job,
            None => return self.out_of_turn(recipient, mapping).await,
        };
        let account = job.account_id.clone();
        let said = |what: &str| {
            Ok(Some(format!(
                "AWS's root email verification for account {account}: {what}; not forwarded, \
                 not kept"
            )))
        };
        match job.state {
            JobState::Requested => {}
            JobState::CodeReceived => return said("its job is already accepting a code"),
            // AWS was not asked by this job yet: somebody else's request, or a stale one.
            _ => return said("arrived before its job started; not used"),
        }
        let Some(code) = raw_code(raw) else {
            let failed = Self::failed(
                &job,
                "failed",
                "AWS's verification mail arrived but no code could be read from it; retry".into(),
            );
            self.step(JobState::Requested, &failed, JOB_ACTOR).await?;
            return said("no code could be read; the job failed");
        };
        let received = RootEmailJob {
            state: JobState::CodeReceived,
            detail: "AWS's verification mail arrived; accepting its code".into(),
            updated_at: rfc3339(SystemTime::now()),
            ..job.clone()
        };
        if !self.step(JobState::Requested, &received, JOB_ACTOR).await? {
            return said("another delivery took it");
        }
        let done = match self.api.accept(&account, &job.address, &code).await {
            Ok(UpdateStatus::Accepted) => self.accepted(&received, JobState::CodeReceived).await?,
            // A genuine code of another request (anyone may ask AWS to mail this address):
            // refused, the job goes on waiting for its own, a few times.
            Err(ChangeError::RejectedCode(_)) if job.refused_codes + 1 < MAX_REFUSED_CODES => {
                let waiting = RootEmailJob {
                    refused_codes: job.refused_codes + 1,
                    detail: format!(
                        "AWS refused a code that arrived ({} so far); still waiting for this \
                         request's",
                        job.refused_codes + 1
                    ),
                    // The wait for the code still counts from the start.
                    ..job.clone()
                };
                self.step(JobState::CodeReceived, &waiting, JOB_ACTOR)
                    .await?;
                waiting
            }
            Ok(UpdateStatus::Pending) => {
                let e = ChangeError::Failed("AWS still says PENDING after the code".into());
                self.fail_from(&received, JobState::CodeReceived, &e)
                    .await?
            }
            Err(e) => {
                let counted = RootEmailJob {
                    refused_codes: received.refused_codes
                        + u32::from(matches!(e, ChangeError::RejectedCode(_))),
                    ..received.clone()
                };
                self.fail_from(&counted, JobState::CodeReceived, &e).await?
            }
        };
        said(&format!(
            "its code was used ({})",
            match done.state {
                JobState::Accepted => "accepted".to_string(),
                JobState::Requested => "refused; the job still waits".to_string(),
                _ => format!("failed: {}", done.reason.as_deref().unwrap_or("failed")),
            }
        ))
    }

    /// AWS's mail for an address without an open job: dropped when the address's account has
    /// a job that was not accepted (a failed or expired one: its code must not reach a
    /// mailbox), else `None` (forwarded).
    async fn out_of_turn(
        &self,
        recipient: &str,
        mapping: Option<&Mapping>,
    ) -> Result<Option<String>, StoreError> {
        let Some(m) = mapping else {
            return Ok(None);
        };
        let account = m
            .aws_account_id
            .as_deref()
            .or_else(|| m.tags.get("aws_account_id").map(String::as_str));
        let Some(account) = account else {
            return Ok(None);
        };
        Ok(self
            .accounts
            .job(account)
            .await?
            .filter(|j| j.address == recipient && j.state == JobState::Failed)
            .map(|j| {
                format!(
                    "AWS's root email verification for account {}: arrived for a failed job \
                     ({}); not used, not forwarded, not kept",
                    j.account_id,
                    j.reason.as_deref().unwrap_or("failed")
                )
            }))
    }

    async fn fail_from(
        &self,
        job: &RootEmailJob,
        from: JobState,
        e: &ChangeError,
    ) -> Result<RootEmailJob, StoreError> {
        // An error's text is AWS's; it never holds the code, which is only ever sent.
        let failed = Self::failed(job, e.reason(), e.to_string());
        self.step(from, &failed, JOB_ACTOR).await?;
        Ok(failed)
    }

    /// The change is done: the job accepted, the mapping linked to its account, and the
    /// stored account shown on the domain until the next sync reads it so.
    async fn accepted(
        &self,
        job: &RootEmailJob,
        from: JobState,
    ) -> Result<RootEmailJob, StoreError> {
        let now = rfc3339(SystemTime::now());
        let accepted = RootEmailJob {
            state: JobState::Accepted,
            reason: None,
            detail: format!(
                "the root email of {} is now {}",
                job.account_id, job.address
            ),
            updated_at: now.clone(),
            ..job.clone()
        };
        if !self.step(from, &accepted, JOB_ACTOR).await? {
            return Ok(self
                .accounts
                .job(&job.account_id)
                .await?
                .unwrap_or(accepted));
        }
        let stored = self.accounts.account(&job.account_id).await?;
        let link = LinkedAccount {
            id: job.account_id.clone(),
            name: job.account_name.clone(),
            state: stored
                .as_ref()
                .map_or(app::org::AccountState::Active, |a| a.state),
            joined_at: stored.as_ref().and_then(|a| a.joined_at.clone()),
        };
        let change = MappingChange {
            aws_account_id: Some(Some(job.account_id.clone())),
            account: Some(Some(link)),
            ..MappingChange::default()
        };
        match self
            .mappings
            .update(&job.address, &change, JOB_ACTOR, &now)
            .await
        {
            // Deleted meanwhile (gone, or kept deleted: a conflict to edit): the change is
            // done at AWS all the same; the next sync reports the account's drift.
            Ok(_) | Err(StoreError::NotFound(_) | StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        if let Some(a) = stored {
            let moved = OrgAccount {
                email: job.address.clone(),
                address: Some(job.address.clone()),
                drift: a.state.is_out_of_use().then_some(app::org::Drift::Closed),
                drift_detail: None,
                ..a
            };
            self.accounts.put_account(&moved).await?;
        }
        tracing::info!(account = %job.account_id, address = %job.address, "root email changed");
        Ok(accepted)
    }
}

/// The one-time code of a verification mail's raw bytes, as a secret.
fn raw_code(raw: &[u8]) -> Option<Secret> {
    text_of(raw).and_then(|t| code_in(&t)).map(Secret::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_code_is_read_through_mime() {
        let qp = b"From: AWS <no-reply@verify.signin.aws>\r\n\
Subject: Verify the new email address for the AWS account root user\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
Please use the following code to verify your email=\r\n address: 482913.\r\n\
--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>code: 482913</p>\r\n--b--\r\n";
        assert_eq!(
            raw_code(qp).map(|c| c.expose().to_string()).as_deref(),
            Some("482913")
        );
        let b64 = format!(
            "From: a@verify.signin.aws\r\nSubject: x\r\nContent-Type: text/html\r\n\
Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            base64_of(
                "<p>please use the following code to verify your email address: <b>A1b2C3</b>.</p>"
            )
        );
        assert_eq!(
            raw_code(b64.as_bytes())
                .map(|c| c.expose().to_string())
                .as_deref(),
            Some("A1b2C3")
        );
        assert!(raw_code(b"Subject: x\r\n\r\nno code here").is_none());
    }

    fn base64_of(s: &str) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn only_mail_ses_authenticated_for_aws_is_taken_for_aws() {
        use crate::inbound::DmarcRequest;
        let r = Recogniser::default();
        let subject = crate::config::DEFAULT_VERIFY_SUBJECT;
        let verdicts = |spf, dkim, dmarc| Verdicts {
            spam: Verdict::Pass,
            virus: Verdict::Pass,
            spf,
            dkim,
            dmarc,
            dmarc_policy: DmarcRequest::Unknown,
        };
        let aws_from = b"From: Amazon Web Services <no-reply@verify.signin.aws>\r\n\r\nx";
        let bounce = "0100018c@us-east-1.amazonses.com";
        use Verdict::{Fail, Gray, Pass};
        for (case, sender, v, raw, want) in [
            (
                "all pass, AWS's envelope",
                "no-reply@verify.signin.aws",
                verdicts(Pass, Pass, Pass),
                &aws_from[..],
                true,
            ),
            (
                "AWS's envelope, no DMARC record",
                "no-reply@verify.signin.aws",
                verdicts(Pass, Pass, Gray),
                &aws_from[..],
                true,
            ),
            (
                "AWS's From through a bounce domain, DMARC pass",
                bounce,
                verdicts(Pass, Pass, Pass),
                &aws_from[..],
                true,
            ),
            (
                "AWS's From through a bounce domain, DMARC not pass",
                bounce,
                verdicts(Pass, Pass, Gray),
                &aws_from[..],
                false,
            ),
            (
                "SPF fails for AWS's envelope",
                "no-reply@verify.signin.aws",
                verdicts(Fail, Pass, Gray),
                &aws_from[..],
                false,
            ),
            (
                "DKIM fails",
                "no-reply@verify.signin.aws",
                verdicts(Pass, Fail, Gray),
                &aws_from[..],
                false,
            ),
            (
                "DMARC fails",
                "no-reply@verify.signin.aws",
                verdicts(Pass, Pass, Fail),
                &aws_from[..],
                false,
            ),
            (
                "a stranger's envelope and From",
                "x@attacker.example",
                verdicts(Pass, Pass, Pass),
                &b"From: x@attacker.example\r\n\r\n"[..],
                false,
            ),
            (
                "a stranger forging AWS's From",
                "x@attacker.example",
                verdicts(Pass, Pass, Fail),
                &aws_from[..],
                false,
            ),
        ] {
            let senders = Senders::read(sender, raw, &v);
            assert_eq!(from_aws(&r, &senders, subject, &v), want, "{case}");
        }
        let all_pass = verdicts(Pass, Pass, Pass);
        let senders = Senders::read("no-reply@verify.signin.aws", aws_from, &all_pass);
        assert!(!from_aws(&r, &senders, "Your bill", &all_pass));
    }
}
