-- Counts kept as rows are written, so the overview reads a few rows however long the message
-- log and however many the mappings: mail received per UTC day and per UTC hour by outcome,
-- and mappings by status. Triggers keep them in the transaction of the change they count, so
-- a count can never drift from the rows: a write that fails or is tried again moves nothing
-- twice, and retention's deletes take their records out of the counts as they go.

CREATE TABLE message_volume (
    span    TEXT NOT NULL CHECK (span IN ('day', 'hour')),
    bucket  TEXT NOT NULL,   -- 'YYYY-MM-DD' for a day, 'YYYY-MM-DDTHH' for an hour (UTC)
    outcome TEXT NOT NULL,
    n       INTEGER NOT NULL CHECK (n > 0),
    PRIMARY KEY (span, bucket, outcome)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER messages_count_insert AFTER INSERT ON messages BEGIN
    INSERT INTO message_volume VALUES ('day', substr(NEW.received_at, 1, 10), NEW.outcome, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
    INSERT INTO message_volume VALUES ('hour', substr(NEW.received_at, 1, 13), NEW.outcome, 1)
        ON CONFLICT DO UPDATE SET n = n + 1;
END;

-- A bucket that falls to zero goes, so retention leaves no rows behind.
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

INSERT INTO message_volume
    SELECT 'day', substr(received_at, 1, 10), outcome, count(*) FROM messages GROUP BY 2, 3;
INSERT INTO message_volume
    SELECT 'hour', substr(received_at, 1, 13), outcome, count(*) FROM messages GROUP BY 2, 3;

CREATE TABLE mapping_counts (
    status TEXT PRIMARY KEY NOT NULL,
    n      INTEGER NOT NULL CHECK (n > 0)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER mappings_count_insert AFTER INSERT ON mappings BEGIN
    INSERT INTO mapping_counts VALUES (NEW.status, 1) ON CONFLICT DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER mappings_count_delete AFTER DELETE ON mappings BEGIN
    DELETE FROM mapping_counts WHERE status = OLD.status AND n = 1;
    UPDATE mapping_counts SET n = n - 1 WHERE status = OLD.status;
END;

CREATE TRIGGER mappings_count_update AFTER UPDATE OF status ON mappings
WHEN OLD.status IS NOT NEW.status BEGIN
    DELETE FROM mapping_counts WHERE status = OLD.status AND n = 1;
    UPDATE mapping_counts SET n = n - 1 WHERE status = OLD.status;
    INSERT INTO mapping_counts VALUES (NEW.status, 1) ON CONFLICT DO UPDATE SET n = n + 1;
END;

INSERT INTO mapping_counts SELECT status, count(*) FROM mappings GROUP BY status;
