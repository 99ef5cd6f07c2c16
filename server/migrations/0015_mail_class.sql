-- What kind of mail each record is (#18: credential, security, account, billing, notice,
-- other); NULL for records kept before classes were judged, and for mail refused unread.
ALTER TABLE messages ADD COLUMN mail_class TEXT;
