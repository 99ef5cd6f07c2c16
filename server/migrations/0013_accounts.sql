-- The organization as the last sync read it (AWS Organizations ListAccounts), and the link a
-- mapping keeps to its account. A sync replaces org_accounts whole; org_sync holds its summary.

CREATE TABLE org_accounts (
    account_id   TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    email        TEXT NOT NULL,
    state        TEXT NOT NULL,
    joined_at    TEXT,
    address      TEXT,
    drift        TEXT,
    drift_detail TEXT,
    synced_at    TEXT NOT NULL
) STRICT;

CREATE INDEX org_accounts_by_drift ON org_accounts (drift, account_id) WHERE drift IS NOT NULL;

CREATE TABLE org_sync (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    summary TEXT NOT NULL
) STRICT;

-- The account a mapping is the root email of (JSON of app::org::LinkedAccount), written by the
-- sync; NULL until one is found.
ALTER TABLE mappings ADD COLUMN account TEXT;
