-- The workspace's blocked-window list (R34): admins set it, every member's app applies it.
CREATE TABLE workspace_block_rules (
    workspace_id uuid NOT NULL REFERENCES workspaces(id),
    position     bigint NOT NULL CHECK (position >= 0),
    field        text NOT NULL CHECK (field IN ('class', 'title')),
    pattern      text NOT NULL CHECK (length(pattern) > 0),
    PRIMARY KEY (workspace_id, position)
);

-- Who else viewed or deleted a screenshot (R35). No foreign key to the screenshot: a delete is
-- logged and outlives it; a line goes when the screenshot's retention ends (captured_ms) or
-- with its owner's account.
CREATE TABLE screenshot_access (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    workspace_id  uuid NOT NULL,
    owner_id      uuid NOT NULL,
    screenshot_id uuid NOT NULL,
    captured_ms   bigint NOT NULL,
    viewer_id     uuid NOT NULL,
    viewer_name   text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('viewed', 'deleted')),
    at_ms         bigint NOT NULL
);
CREATE INDEX screenshot_access_owner ON screenshot_access(owner_id, at_ms);
CREATE INDEX screenshot_access_repeat ON screenshot_access(screenshot_id, viewer_id, kind, at_ms);
CREATE INDEX screenshot_access_captured ON screenshot_access(captured_ms);
