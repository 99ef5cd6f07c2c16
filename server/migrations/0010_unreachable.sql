-- Recipient mailboxes that stopped taking mail (a permanent bounce or a complaint), until an
-- admin marks them fixed or a later delivery to them succeeds.
CREATE TABLE unreachable_recipients (
    recipient TEXT PRIMARY KEY NOT NULL,
    reason TEXT NOT NULL CHECK (reason IN ('bounced', 'complained')),
    detail TEXT NOT NULL,
    since TEXT NOT NULL,
    mailer_message_id TEXT NOT NULL
) WITHOUT ROWID;
