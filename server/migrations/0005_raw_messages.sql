-- Raw messages kept for mail nobody received (dead letters, undeliverable), by SES message id.
CREATE TABLE raw_messages (
    id         TEXT PRIMARY KEY NOT NULL,
    bytes      BLOB NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
-- Retention finds a message's records by their SES id when it sweeps raw messages.
CREATE INDEX messages_by_ses_id ON messages (ses_message_id);
-- and purges by time.
CREATE INDEX messages_by_received ON messages (received_at);
