-- What became of each forwarded message after the mailer took it (SES delivery events).
-- `delivery_rank` orders the states (sent 0, delayed 1, delivered 2, bounced 3, complained 4),
-- so an event is written only when it moves the record on.
ALTER TABLE messages ADD COLUMN delivery_state TEXT
    CHECK (delivery_state IN ('sent', 'delayed', 'delivered', 'bounced', 'complained'));
ALTER TABLE messages ADD COLUMN delivery_detail TEXT;
ALTER TABLE messages ADD COLUMN delivery_at TEXT;
ALTER TABLE messages ADD COLUMN delivery_rank INTEGER;
CREATE INDEX messages_by_mailer_id ON messages (mailer_message_id)
    WHERE mailer_message_id IS NOT NULL;
