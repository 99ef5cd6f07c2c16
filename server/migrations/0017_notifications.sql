-- Notification channels (#18) and the queue and log of their deliveries. A channel's target
-- and a webhook's signing secret are credentials: they are read only by the dispatcher and
-- never listed whole (app::notify::Channel shows a Slack URL's host only).
CREATE TABLE notify_channels (
    id TEXT PRIMARY KEY NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('webhook', 'slack', 'sns', 'digest')),
    target TEXT NOT NULL,
    secret TEXT,
    -- Comma-separated event names.
    events TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
) WITHOUT ROWID;

-- One row per event and channel. `id` is time-ordered; `next_at` is when a pending row is
-- tried next, or the end of the lease of the server sending it.
CREATE TABLE notify_deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    channel_id TEXT NOT NULL,
    channel_kind TEXT NOT NULL,
    event TEXT NOT NULL,
    summary TEXT NOT NULL,
    body TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at TEXT,
    last_status INTEGER,
    last_error TEXT,
    created_at TEXT NOT NULL,
    delivered_at TEXT
) WITHOUT ROWID;

CREATE INDEX notify_due ON notify_deliveries (next_at) WHERE state = 'pending';
CREATE INDEX notify_pending_by_channel ON notify_deliveries (channel_id, event) WHERE state = 'pending';
