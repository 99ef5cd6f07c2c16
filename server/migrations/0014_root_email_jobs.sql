-- Root email change jobs (#17): the latest job of each account, whole as JSON
-- (app::org::RootEmailJob) with its state and address as columns for the conditions. At most
-- one open job per address: the inbound path finds a verification mail's job by its address.

CREATE TABLE root_email_jobs (
    account_id TEXT PRIMARY KEY,
    address    TEXT NOT NULL,
    state      TEXT NOT NULL,
    body       TEXT NOT NULL
) STRICT;

CREATE UNIQUE INDEX root_email_jobs_open_address ON root_email_jobs (address)
    WHERE state IN ('queued', 'requested', 'code_received');
