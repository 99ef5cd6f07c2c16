-- Address mappings. A deleted mapping keeps its row (status 'deleted') so its address and
-- name can never be vended again.
CREATE TABLE mappings (
    address        TEXT PRIMARY KEY NOT NULL,          -- lower-cased local@domain
    account_name   TEXT NOT NULL,
    base           TEXT,                               -- NULL when the name was overridden
    counter        INTEGER,
    account_type   TEXT NOT NULL,
    owner          TEXT NOT NULL,                      -- lower-cased
    tags           TEXT NOT NULL DEFAULT '{}',         -- JSON object of strings
    status         TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'deleted')),
    aws_account_id TEXT,
    notes          TEXT,
    created_at     TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    updated_by     TEXT NOT NULL
) STRICT;

CREATE UNIQUE INDEX mappings_by_account_name ON mappings (account_name);
CREATE INDEX mappings_by_owner ON mappings (owner, address);
CREATE INDEX mappings_by_status ON mappings (status, address);

-- Substring search over address, name and owner without scanning the table.
CREATE VIRTUAL TABLE mappings_search USING fts5 (
    address, account_name, owner,
    content = 'mappings', content_rowid = 'rowid', tokenize = 'trigram'
);
CREATE TRIGGER mappings_search_insert AFTER INSERT ON mappings BEGIN
    INSERT INTO mappings_search (rowid, address, account_name, owner)
    VALUES (new.rowid, new.address, new.account_name, new.owner);
END;
CREATE TRIGGER mappings_search_delete AFTER DELETE ON mappings BEGIN
    INSERT INTO mappings_search (mappings_search, rowid, address, account_name, owner)
    VALUES ('delete', old.rowid, old.address, old.account_name, old.owner);
END;
CREATE TRIGGER mappings_search_update AFTER UPDATE OF owner ON mappings BEGIN
    INSERT INTO mappings_search (mappings_search, rowid, address, account_name, owner)
    VALUES ('delete', old.rowid, old.address, old.account_name, old.owner);
    INSERT INTO mappings_search (rowid, address, account_name, owner)
    VALUES (new.rowid, new.address, new.account_name, new.owner);
END;

-- The next counter per base. Only ever grows, so a number is never handed out twice.
CREATE TABLE name_counters (
    base TEXT PRIMARY KEY NOT NULL,
    next INTEGER NOT NULL
) STRICT;

-- A retried vend with the same key returns the first result.
CREATE TABLE idempotency_keys (
    key        TEXT PRIMARY KEY NOT NULL,
    address    TEXT NOT NULL REFERENCES mappings (address),
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    subject TEXT NOT NULL,
    before  TEXT,
    after   TEXT
) STRICT;
CREATE INDEX audit_by_subject ON audit_log (subject, id);
