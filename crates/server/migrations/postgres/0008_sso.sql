-- Single sign-on (R31). A workspace's link to its OpenID provider; the client secret is sealed
-- with the service's SSO key (AES-256-GCM, nonce first), never stored in the clear.
CREATE TABLE sso_configs (
    workspace_id     uuid PRIMARY KEY REFERENCES workspaces(id),
    issuer           text NOT NULL,
    client_id        text NOT NULL,
    client_secret    bytea NOT NULL,
    auto_join        boolean NOT NULL,
    password_sign_in boolean NOT NULL,
    updated_ms       bigint NOT NULL
);
-- An email domain belongs to at most one workspace's single sign-on.
CREATE TABLE sso_domains (
    domain       text PRIMARY KEY,
    workspace_id uuid NOT NULL REFERENCES workspaces(id)
);
CREATE INDEX sso_domains_workspace ON sso_domains(workspace_id);
-- Who the provider's `sub` is in the workspace.
CREATE TABLE sso_identities (
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    issuer       text NOT NULL,
    subject      text NOT NULL,
    user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (workspace_id, issuer, subject)
);
-- Sign-ins under way: kept server-side so any replica finishes them; one use, short-lived.
CREATE TABLE sso_requests (
    state_hash    bytea PRIMARY KEY,
    workspace_id  uuid NOT NULL REFERENCES workspaces(id),
    nonce         text NOT NULL,
    pkce_verifier text NOT NULL,
    redirect_uri  text NOT NULL,
    app_challenge text,
    app_redirect  text,
    app_state     text,
    expires_ms    bigint NOT NULL
);
CREATE INDEX sso_requests_expiry ON sso_requests(expires_ms);
-- One-time codes for the desktop app, bound to its PKCE challenge (hashes only).
CREATE TABLE sso_codes (
    code_hash  bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    challenge  text NOT NULL,
    expires_ms bigint NOT NULL
);
CREATE INDEX sso_codes_expiry ON sso_codes(expires_ms);
