-- Shotclock service schema for PostgreSQL, version 1: the same tables, indexes and triggers as
-- the SQLite migrations 0001–0003 (../0001_init.sql and after), so both backends answer alike.
-- Ids are uuid; instants are bigint milliseconds since the Unix epoch (UTC), as on SQLite, so
-- both backends round every instant the same way; booleans are boolean.
-- Every row that belongs to a person carries user_id and workspace_id, so account deletion
-- (R23) and tenant isolation (R16) are plain indexed predicates.

CREATE TABLE workspaces (
    id                  uuid PRIMARY KEY,
    name                text NOT NULL,
    plan                text NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'enterprise')),
    screenshots_enabled boolean NOT NULL DEFAULT false,
    blur_enabled        boolean NOT NULL DEFAULT true,
    lock_date_ms        bigint,
    trial_started_ms    bigint,
    created_ms          bigint NOT NULL
);

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    workspace_id  uuid NOT NULL REFERENCES workspaces(id),
    email         text NOT NULL,
    name          text NOT NULL,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    active        boolean NOT NULL DEFAULT true,
    created_ms    bigint NOT NULL,
    UNIQUE (workspace_id, email)
);
CREATE INDEX users_email ON users(email);

CREATE TABLE sessions (
    token_hash   bytea PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users(id),
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    created_ms   bigint NOT NULL,
    expires_ms   bigint NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE entries (
    id            uuid PRIMARY KEY,
    workspace_id  uuid NOT NULL REFERENCES workspaces(id),
    user_id       uuid NOT NULL REFERENCES users(id),
    description   text NOT NULL,
    start_ms      bigint NOT NULL,
    end_ms        bigint,
    removed_spans text NOT NULL DEFAULT '[]',
    approved      boolean NOT NULL DEFAULT false,
    created_ms    bigint NOT NULL
);
CREATE INDEX entries_user_start ON entries(user_id, start_ms);
CREATE INDEX entries_workspace_start ON entries(workspace_id, start_ms);
-- R13: at most one running entry per user, enforced by the database as well.
CREATE UNIQUE INDEX entries_one_running ON entries(user_id) WHERE end_ms IS NULL;

CREATE TABLE screenshots (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    user_id      uuid NOT NULL REFERENCES users(id),
    entry_id     uuid NOT NULL REFERENCES entries(id),
    captured_ms  bigint NOT NULL,
    sha256       bytea NOT NULL CHECK (length(sha256) = 32),
    size         bigint NOT NULL CHECK (size >= 0),
    width        bigint NOT NULL CHECK (width >= 0),
    height       bigint NOT NULL CHECK (height >= 0),
    blob_key     text NOT NULL,
    uploaded_ms  bigint NOT NULL
);
-- A member's day (R17) and per-member day counts.
CREATE INDEX screenshots_user_time ON screenshots(user_id, captured_ms);
CREATE INDEX screenshots_entry_time ON screenshots(entry_id, captured_ms);
-- Retention purge (R18) walks the oldest first.
CREATE INDEX screenshots_time ON screenshots(captured_ms);
CREATE INDEX screenshots_blob ON screenshots(blob_key);

CREATE TABLE notifications (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    user_id      uuid NOT NULL REFERENCES users(id),
    kind         text NOT NULL,
    message      text NOT NULL,
    created_ms   bigint NOT NULL,
    read_ms      bigint
);
CREATE INDEX notifications_user ON notifications(user_id, created_ms);

-- Screenshots per workspace, UTC hour and user, kept by triggers, so a day's per-member counts
-- (R17) read ~8 rows per member instead of every screenshot. Every insert and delete of a
-- screenshot goes through the triggers; no code path updates a screenshot's time, owner or
-- workspace (a trigger refuses it).
CREATE TABLE screenshot_hours (
    workspace_id uuid NOT NULL,
    hour         bigint NOT NULL, -- captured_ms / 3600000
    user_id      uuid NOT NULL,
    n            bigint NOT NULL CHECK (n > 0),
    PRIMARY KEY (workspace_id, hour, user_id)
);

CREATE FUNCTION screenshot_hours_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO screenshot_hours (workspace_id, hour, user_id, n)
        VALUES (NEW.workspace_id, NEW.captured_ms / 3600000, NEW.user_id, 1)
        ON CONFLICT (workspace_id, hour, user_id)
        DO UPDATE SET n = screenshot_hours.n + 1;
    RETURN NULL;
END;
$$;

CREATE FUNCTION screenshot_hours_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM screenshot_hours
        WHERE workspace_id = OLD.workspace_id AND hour = OLD.captured_ms / 3600000
          AND user_id = OLD.user_id AND n = 1;
    UPDATE screenshot_hours SET n = n - 1
        WHERE workspace_id = OLD.workspace_id AND hour = OLD.captured_ms / 3600000
          AND user_id = OLD.user_id;
    RETURN NULL;
END;
$$;

CREATE FUNCTION screenshot_hours_no_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a screenshot''s workspace, owner and time never change';
END;
$$;

CREATE TRIGGER screenshot_hours_insert AFTER INSERT ON screenshots
    FOR EACH ROW EXECUTE FUNCTION screenshot_hours_insert();
CREATE TRIGGER screenshot_hours_delete AFTER DELETE ON screenshots
    FOR EACH ROW EXECUTE FUNCTION screenshot_hours_delete();
CREATE TRIGGER screenshot_hours_no_move BEFORE UPDATE OF workspace_id, user_id, captured_ms
    ON screenshots FOR EACH ROW EXECUTE FUNCTION screenshot_hours_no_move();

-- What the service decided stays decided.
--
-- Tombstones: every deleted screenshot and entry id, so that a retry (an upload whose answer
-- was lost, a stale device) can never create it again (R24–R26). Kept for the retention period
-- plus the longest client retry horizon, then purged.
CREATE TABLE tombstones (
    id           uuid PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('screenshot', 'entry')),
    workspace_id uuid NOT NULL,
    deleted_ms   bigint NOT NULL
);
CREATE INDEX tombstones_deleted ON tombstones(deleted_ms);

-- The capture gate's history (R4, R5): each row is the state from `since_ms` on, so an upload
-- is judged by whether capture was allowed at its capture moment, not at its arrival.
CREATE TABLE capture_gates (
    workspace_id     uuid NOT NULL REFERENCES workspaces(id),
    since_ms         bigint NOT NULL,
    enabled          boolean NOT NULL,
    plan             text NOT NULL CHECK (plan IN ('free', 'enterprise')),
    trial_started_ms bigint,
    PRIMARY KEY (workspace_id, since_ms)
);
