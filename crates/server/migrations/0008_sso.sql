-- Single sign-on (R31). A workspace's link to its OpenID provider; the client secret is sealed
-- with the service's SSO key (AES-256-GCM, nonce first), never stored in the clear.
CREATE TABLE sso_configs (
    workspace_id     BLOB PRIMARY KEY REFERENCES workspaces(id),
    issuer           TEXT NOT NULL,
    client_id        TEXT NOT NULL,
    client_secret    BLOB NOT NULL,
    auto_join        INTEGER NOT NULL CHECK (auto_join IN (0, 1)),
    password_sign_in INTEGER NOT NULL CHECK (password_sign_in IN (0, 1)),
    updated_ms       INTEGER NOT NULL
) STRICT;
-- An email domain belongs to at most one workspace's single sign-on.
CREATE TABLE sso_domains (
    domain       TEXT PRIMARY KEY,
    workspace_id BLOB NOT NULL REFERENCES workspaces(id)
) STRICT;
CREATE INDEX sso_domains_workspace ON sso_domains(workspace_id);
-- Who the provider's `sub` is in the workspace.
CREATE TABLE sso_identities (
    workspace_id BLOB NOT NULL REFERENCES workspaces(id),
    issuer       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    user_id      BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (workspace_id, issuer, subject)
) STRICT;
-- Sign-ins under way: kept server-side so any replica finishes them; one use, short-lived.
CREATE TABLE sso_requests (
    state_hash    BLOB PRIMARY KEY,
    workspace_id  BLOB NOT NULL REFERENCES workspaces(id),
    nonce         TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    redirect_uri  TEXT NOT NULL,
    app_challenge TEXT,
    app_redirect  TEXT,
    app_state     TEXT,
    expires_ms    INTEGER NOT NULL
) STRICT;
CREATE INDEX sso_requests_expiry ON sso_requests(expires_ms);
-- One-time codes for the desktop app, bound to its PKCE challenge (hashes only).
CREATE TABLE sso_codes (
    code_hash  BLOB PRIMARY KEY,
    user_id    BLOB NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    challenge  TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX sso_codes_expiry ON sso_codes(expires_ms);
