-- Entries added by hand (R39) carry no screenshots and are labelled manual wherever entries
-- are listed. Entries from before were all tracked by a timer.
ALTER TABLE entries ADD COLUMN manual boolean NOT NULL DEFAULT false;
-- Overlap checks (R39) look for a person's entries around a span.
CREATE INDEX entries_user_end ON entries(user_id, end_ms);
