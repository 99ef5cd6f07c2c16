-- The message log: one row per recipient of every received message. A row in 'processing'
-- is a claim; `lease_until` lets another worker take over a claim whose worker died.
CREATE TABLE messages (
    id                TEXT PRIMARY KEY NOT NULL,
    ses_message_id    TEXT NOT NULL,
    recipient         TEXT NOT NULL,
    sender            TEXT NOT NULL,
    subject           TEXT,
    size              INTEGER NOT NULL,
    verdicts          TEXT NOT NULL,
    outcome           TEXT NOT NULL CHECK (outcome IN ('processing', 'forwarded', 'undeliverable', 'rejected', 'dead_letter')),
    delivered_to      TEXT,
    detail            TEXT NOT NULL,
    mailer_message_id TEXT,
    error             TEXT,
    attempts          INTEGER NOT NULL,
    received_at       TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    lease_until       TEXT,
    sort_key          TEXT NOT NULL  -- received_at '#' id: newest first, unique
) STRICT;
CREATE INDEX messages_by_time ON messages (sort_key);
CREATE INDEX messages_by_recipient ON messages (recipient, sort_key);
CREATE INDEX messages_by_outcome ON messages (outcome, sort_key);
