-- Invitations to join a workspace (R38). The link's secret is never stored, only its SHA-256;
-- a used or revoked invitation keeps its row (so the link answers "used", or like an unknown
-- one) until its workspace goes.
CREATE TABLE invitations (
    id           BLOB PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    email        TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    token_hash   BLOB NOT NULL UNIQUE,
    created_ms   INTEGER NOT NULL,
    expires_ms   INTEGER NOT NULL,
    accepted_ms  INTEGER,
    revoked_ms   INTEGER
) STRICT;
CREATE INDEX invitations_workspace ON invitations(workspace_id, created_ms);
