-- Up to four more recipients per mapping besides its owner (a team list, a backup), as a JSON
-- array of lower-cased addresses. Each gets its own copy and its own record of every message.
ALTER TABLE mappings ADD COLUMN recipients TEXT NOT NULL DEFAULT '[]';
