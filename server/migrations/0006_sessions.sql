-- Server-side sign-in sessions (tower-sessions records as JSON). Expired rows are ignored on
-- read and purged hourly.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY NOT NULL,
    data       TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
