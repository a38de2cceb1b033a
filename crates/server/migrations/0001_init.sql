-- Shotclock service schema, version 1.
-- Ids are 16-byte UUID blobs; instants are integer milliseconds since the Unix epoch (UTC).
-- Every row that belongs to a person carries user_id and workspace_id, so account deletion
-- (R23) and tenant isolation (R16) are plain indexed predicates.

CREATE TABLE workspaces (
    id                  BLOB PRIMARY KEY,
    name                TEXT NOT NULL,
    plan                TEXT NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'enterprise')),
    screenshots_enabled INTEGER NOT NULL DEFAULT 0,
    blur_enabled        INTEGER NOT NULL DEFAULT 1,
    lock_date_ms        INTEGER,
    trial_started_ms    INTEGER,
    created_ms          INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    id            BLOB PRIMARY KEY,
    workspace_id  BLOB NOT NULL REFERENCES workspaces(id),
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    active        INTEGER NOT NULL DEFAULT 1,
    created_ms    INTEGER NOT NULL,
    UNIQUE (workspace_id, email)
) STRICT;
CREATE INDEX users_email ON users(email);

CREATE TABLE sessions (
    token_hash   BLOB PRIMARY KEY,
    user_id      BLOB NOT NULL REFERENCES users(id),
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    created_ms   INTEGER NOT NULL,
    expires_ms   INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE entries (
    id            BLOB PRIMARY KEY,
    workspace_id  BLOB NOT NULL REFERENCES workspaces(id),
    user_id       BLOB NOT NULL REFERENCES users(id),
    description   TEXT NOT NULL,
    start_ms      INTEGER NOT NULL,
    end_ms        INTEGER,
    removed_spans TEXT NOT NULL DEFAULT '[]',
    approved      INTEGER NOT NULL DEFAULT 0,
    created_ms    INTEGER NOT NULL
) STRICT;
CREATE INDEX entries_user_start ON entries(user_id, start_ms);
CREATE INDEX entries_workspace_start ON entries(workspace_id, start_ms);
-- R13: at most one running entry per user, enforced by the database as well.
CREATE UNIQUE INDEX entries_one_running ON entries(user_id) WHERE end_ms IS NULL;

CREATE TABLE screenshots (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    user_id      BLOB NOT NULL REFERENCES users(id),
    entry_id     BLOB NOT NULL REFERENCES entries(id),
    captured_ms  INTEGER NOT NULL,
    sha256       BLOB NOT NULL,
    size         INTEGER NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    blob_key     TEXT NOT NULL,
    uploaded_ms  INTEGER NOT NULL
) STRICT;
-- A member's day (R17) and per-member day counts: covering index on (user, time).
CREATE INDEX screenshots_user_time ON screenshots(user_id, captured_ms);
CREATE INDEX screenshots_entry_time ON screenshots(entry_id, captured_ms);
-- Retention purge (R18) walks the oldest first.
CREATE INDEX screenshots_time ON screenshots(captured_ms);
CREATE INDEX screenshots_blob ON screenshots(blob_key);

CREATE TABLE notifications (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    user_id      BLOB NOT NULL REFERENCES users(id),
    kind         TEXT NOT NULL,
    message      TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    read_ms      INTEGER
) STRICT;
CREATE INDEX notifications_user ON notifications(user_id, created_ms);
