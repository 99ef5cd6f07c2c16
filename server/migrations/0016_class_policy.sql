-- Held mail (#18): the outcome 'held', for mail its class's policy keeps until an admin
-- releases it, and the class policy applied to each record (forward, restricted, hold, drop;
-- NULL when none was: mail refused or undeliverable first, records kept before policies).
--
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt the documented
-- way (a new table, the rows copied, the old one dropped, the new one renamed), with every
-- index of migrations 0004, 0005 and 0009 and the counting triggers of 0012 made again. The
-- rows are the same before and after, so the counts they keep stay right as they are; the
-- triggers go first so that dropping the old table takes nothing out of them.
DROP TRIGGER messages_count_insert;
DROP TRIGGER messages_count_delete;
DROP TRIGGER messages_count_update;

CREATE TABLE messages_rebuilt (
    id                TEXT PRIMARY KEY NOT NULL,
    ses_message_id    TEXT NOT NULL,
    recipient         TEXT NOT NULL,
    sender            TEXT NOT NULL,
    subject           TEXT,
    size              INTEGER NOT NULL,
    verdicts          TEXT NOT NULL,
    outcome           TEXT NOT NULL CHECK (outcome IN ('processing', 'forwarded', 'undeliverable', 'rejected', 'dead_letter', 'held')),
    delivered_to      TEXT,
    detail            TEXT NOT NULL,
    mailer_message_id TEXT,
    error             TEXT,
    attempts          INTEGER NOT NULL,
    received_at       TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    lease_until       TEXT,
    sort_key          TEXT NOT NULL,
    delivery_state    TEXT CHECK (delivery_state IN ('sent', 'delayed', 'delivered', 'bounced', 'complained')),
    delivery_detail   TEXT,
    delivery_at       TEXT,
    delivery_rank     INTEGER,
    mail_class        TEXT,
    class_policy      TEXT CHECK (class_policy IN ('forward', 'restricted', 'hold', 'drop'))
) STRICT;

INSERT INTO messages_rebuilt (
    id, ses_message_id, recipient, sender, subject, size, verdicts, outcome, delivered_to,
    detail, mailer_message_id, error, attempts, received_at, updated_at, lease_until, sort_key,
    delivery_state, delivery_detail, delivery_at, delivery_rank, mail_class
)
SELECT
    id, ses_message_id, recipient, sender, subject, size, verdicts, outcome, delivered_to,
    detail, mailer_message_id, error, attempts, received_at, updated_at, lease_until, sort_key,
    delivery_state, delivery_detail, delivery_at, delivery_rank, mail_class
FROM messages;

DROP TABLE messages;
ALTER TABLE messages_rebuilt RENAME TO messages;

CREATE INDEX messages_by_time ON messages (sort_key);
CREATE INDEX messages_by_recipient ON messages (recipient, sort_key);
CREATE INDEX messages_by_outcome ON messages (outcome, sort_key);
CREATE INDEX messages_by_ses_id ON messages (ses_message_id);
CREATE INDEX messages_by_received ON messages (received_at);
CREATE INDEX messages_by_mailer_id ON messages (mailer_message_id)
    WHERE mailer_message_id IS NOT NULL;

CREATE TRIGGER messages_count_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_volume VALUES ('day', substr(NEW.received_at, 1, 10), NEW.outcome, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO message_volume VALUES ('hour', substr(NEW.received_at, 1, 13), NEW.outcome, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER messages_count_delete AFTER DELETE ON messages BEGIN
    DELETE FROM message_volume WHERE span = 'day' AND bucket = substr(OLD.received_at, 1, 10)
        AND outcome = OLD.outcome AND n = 1;
    UPDATE message_volume SET n = n - 1 WHERE span = 'day'
        AND bucket = substr(OLD.received_at, 1, 10) AND outcome = OLD.outcome;
    DELETE FROM message_volume WHERE span = 'hour' AND bucket = substr(OLD.received_at, 1, 13)
        AND outcome = OLD.outcome AND n = 1;
    UPDATE message_volume SET n = n - 1 WHERE span = 'hour'
        AND bucket = substr(OLD.received_at, 1, 13) AND outcome = OLD.outcome;
END;

CREATE TRIGGER messages_count_update AFTER UPDATE OF outcome, received_at ON messages
WHEN OLD.outcome IS NOT NEW.outcome OR OLD.received_at IS NOT NEW.received_at BEGIN
    DELETE FROM message_volume WHERE span = 'day' AND bucket = substr(OLD.received_at, 1, 10)
        AND outcome = OLD.outcome AND n = 1;
    UPDATE message_volume SET n = n - 1 WHERE span = 'day'
        AND bucket = substr(OLD.received_at, 1, 10) AND outcome = OLD.outcome;
    DELETE FROM message_volume WHERE span = 'hour' AND bucket = substr(OLD.received_at, 1, 13)
        AND outcome = OLD.outcome AND n = 1;
    UPDATE message_volume SET n = n - 1 WHERE span = 'hour'
        AND bucket = substr(OLD.received_at, 1, 13) AND outcome = OLD.outcome;
    INSERT INTO message_volume VALUES ('day', substr(NEW.received_at, 1, 10), NEW.outcome, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO message_volume VALUES ('hour', substr(NEW.received_at, 1, 13), NEW.outcome, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
END;
