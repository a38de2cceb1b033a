-- Invitations to join a workspace (R38), as in ../0005_invitations.sql. The link's secret is
-- never stored, only its SHA-256.
CREATE TABLE invitations (
    id           uuid PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    email        text NOT NULL,
    role         text NOT NULL CHECK (role IN ('admin', 'member')),
    token_hash   bytea NOT NULL UNIQUE,
    created_ms   bigint NOT NULL,
    expires_ms   bigint NOT NULL,
    accepted_ms  bigint,
    revoked_ms   bigint
);
CREATE INDEX invitations_workspace ON invitations(workspace_id, created_ms);
