-- What the service decided stays decided.
--
-- Tombstones: every deleted screenshot and entry id, so that a retry (an upload whose answer
-- was lost, a stale device) can never create it again (R24–R26). Kept for the retention period
-- plus the longest client retry horizon, then purged.
CREATE TABLE tombstones (
    id           BLOB PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('screenshot', 'entry')),
    workspace_id BLOB NOT NULL,
    deleted_ms   INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX tombstones_deleted ON tombstones(deleted_ms);

-- The capture gate's history (R4, R5): each row is the state from `since_ms` on, so an upload
-- is judged by whether capture was allowed at its capture moment, not at its arrival.
CREATE TABLE capture_gates (
    workspace_id     BLOB NOT NULL REFERENCES workspaces(id),
    since_ms         INTEGER NOT NULL,
    enabled          INTEGER NOT NULL,
    plan             TEXT NOT NULL CHECK (plan IN ('free', 'enterprise')),
    trial_started_ms INTEGER,
    PRIMARY KEY (workspace_id, since_ms)
) STRICT, WITHOUT ROWID;

-- Workspaces from before: their present state stands for their whole past.
INSERT INTO capture_gates (workspace_id, since_ms, enabled, plan, trial_started_ms)
    SELECT id, created_ms, screenshots_enabled, plan, trial_started_ms FROM workspaces;
