//! Root email change jobs on DynamoDB, in the accounts table beside the accounts: the latest
//! job of an account is `job#<account id>` (listed through `by_id` with `list_pk = j`, its JSON
//! in `body`), and each open job holds a lock item `open#<address>` naming its account, so an
//! address has one open job and a verification mail finds it with two reads. Creating a job
//! and finishing one write the job and its lock in one transaction.

use app::model::Page;
use app::org::{JobState, RootEmailJob};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem};

use super::item::{get_s, put_where, s, Item};
use super::{collect, unavailable, DynamoStore};
use crate::store::paging::{decode_cursor, page_of};
use crate::store::StoreError;

const JOBS_LIST: &str = "j";

fn job_key(account_id: &str) -> String {
    format!("job#{account_id}")
}

fn lock_key(address: &str) -> String {
    format!("open#{address}")
}

fn job_item(job: &RootEmailJob) -> Item {
    let mut item = Item::new();
    item.insert("account_id".into(), s(job_key(&job.account_id)));
    item.insert("list_pk".into(), s(JOBS_LIST));
    item.insert("job_state".into(), s(job.state.as_str()));
    item.insert(
        "attempts".into(),
        AttributeValue::N(job.attempts.to_string()),
    );
    item.insert(
        "body".into(),
        s(serde_json::to_string(job).expect("jobs serialize")),
    );
    item
}

fn lock_item(job: &RootEmailJob) -> Item {
    let mut item = Item::new();
    item.insert("account_id".into(), s(lock_key(&job.address)));
    item.insert("job_account".into(), s(job.account_id.clone()));
    item
}

fn job_from(item: Item) -> Result<RootEmailJob, StoreError> {
    let body = get_s(&item, "body").ok_or_else(|| unavailable("a job item without a body"))?;
    serde_json::from_str(&body).map_err(|e| unavailable(format!("corrupt root email job: {e}")))
}

/// Deletes `job`'s lock, if it is still that job's.
fn unlock(table: &str, job: &RootEmailJob) -> Result<TransactWriteItem, StoreError> {
    let d = Delete::builder()
        .table_name(table)
        .key("account_id", s(lock_key(&job.address)))
        .condition_expression("attribute_not_exists(account_id) OR job_account = :a")
        .expression_attribute_values(":a", s(job.account_id.clone()))
        .build()
        .map_err(unavailable)?;
    Ok(TransactWriteItem::builder().delete(d).build())
}

impl DynamoStore {
    pub(super) async fn create_job_item(&self, job: &RootEmailJob) -> Result<(), StoreError> {
        let finished: [(&str, AttributeValue); 2] = [
            (":done", s(JobState::Accepted.as_str())),
            (":failed", s(JobState::Failed.as_str())),
        ];
        let items = vec![
            put_where(
                &self.accounts,
                job_item(job),
                "attribute_not_exists(account_id) OR job_state IN (:done, :failed)",
                &finished,
            )?,
            put_where(
                &self.accounts,
                lock_item(job),
                "attribute_not_exists(account_id)",
                &[],
            )?,
        ];
        match self.transact(items).await? {
            Ok(()) => Ok(()),
            Err(failed) if failed.first() == Some(&true) => Err(StoreError::Conflict(format!(
                "the account {} has an open job already",
                job.account_id
            ))),
            Err(_) => Err(StoreError::Conflict(format!(
                "{} is the new root email of another open job",
                job.address
            ))),
        }
    }

    pub(super) async fn job_item(
        &self,
        account_id: &str,
    ) -> Result<Option<RootEmailJob>, StoreError> {
        self.get_item(&self.accounts, "account_id", &job_key(account_id))
            .await?
            .map(job_from)
            .transpose()
    }

    pub(super) async fn job_items(
        &self,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<Page<RootEmailJob>, StoreError> {
        let after = decode_cursor(cursor)?;
        let query = self
            .client
            .query()
            .table_name(&self.accounts)
            .index_name("by_id")
            .key_condition_expression("list_pk = :p AND account_id > :after")
            .expression_attribute_values(":p", s(JOBS_LIST))
            .expression_attribute_values(":after", s(job_key(&after)));
        let items = collect(query, limit as usize + 1, job_from).await?;
        Ok(page_of(items, limit, |j| j.account_id.clone()))
    }

    pub(super) async fn open_job_item(
        &self,
        address: &str,
    ) -> Result<Option<RootEmailJob>, StoreError> {
        let Some(lock) = self
            .get_item(&self.accounts, "account_id", &lock_key(address))
            .await?
        else {
            return Ok(None);
        };
        let Some(account_id) = get_s(&lock, "job_account") else {
            return Err(unavailable("a job lock without its account"));
        };
        Ok(self
            .job_item(&account_id)
            .await?
            .filter(|j| j.state.is_open() && j.address == address))
    }

    pub(super) async fn transition_item(
        &self,
        from: JobState,
        to: &RootEmailJob,
    ) -> Result<bool, StoreError> {
        // The state and the attempt: a step from an older attempt's copy is not taken.
        let mut items = vec![put_where(
            &self.accounts,
            job_item(to),
            "job_state = :from AND attempts = :n",
            &[
                (":from", s(from.as_str())),
                (":n", AttributeValue::N(to.attempts.to_string())),
            ],
        )?];
        if !to.state.is_open() {
            items.push(unlock(&self.accounts, to)?);
        }
        match self.transact(items).await? {
            Ok(()) => Ok(true),
            Err(failed) if failed.first() == Some(&true) => Ok(false),
            // The job was in `from`, but its address's lock is another job's: never so while
            // an account's job keeps its address, so a broken invariant, said as an error
            // rather than taken for a lost race (which would be tried again for ever).
            Err(_) => Err(unavailable(format!(
                "the open-job lock of {} is not the account {}'s",
                to.address, to.account_id
            ))),
        }
    }
}
