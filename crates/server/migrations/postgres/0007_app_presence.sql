-- Presence of the members' recording apps (R38), shared by every replica on this database.
-- Written only when an app connects, disconnects or turns capture on or off, and by each
-- replica's heartbeat: an idle app costs nothing.

-- Each replica and when it last said it is alive. An app's row counts as connected only while
-- its replica's heartbeat is recent; the rows of a replica that stopped beating are folded
-- into `app_last_seen` and removed by the replicas still alive.
CREATE TABLE replicas (
    id           uuid PRIMARY KEY,
    heartbeat_ms bigint NOT NULL
);

-- A recording app's open event stream: one row per session and replica holding it.
CREATE TABLE app_presence (
    replica_id   uuid NOT NULL,
    session_hash bytea NOT NULL,
    user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    capture      boolean NOT NULL,
    connected_ms bigint NOT NULL,
    PRIMARY KEY (replica_id, session_hash)
);
CREATE INDEX app_presence_user ON app_presence(user_id);
CREATE INDEX app_presence_session ON app_presence(session_hash);

-- When a member's recording app was last known to be there (kept across restarts).
CREATE TABLE app_last_seen (
    user_id uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    seen_ms bigint NOT NULL
);
