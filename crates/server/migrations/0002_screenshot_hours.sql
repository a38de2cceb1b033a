-- Screenshots per workspace, UTC hour and user, kept by triggers, so a day's per-member counts
-- (R17) read ~8 rows per member instead of every screenshot. Every insert and delete of a
-- screenshot (upload, member or admin delete, entry and account deletion, retention purge)
-- goes through the triggers; no code path updates a screenshot's time, owner or workspace.
CREATE TABLE screenshot_hours (
    workspace_id BLOB NOT NULL,
    hour         INTEGER NOT NULL, -- captured_ms / 3600000
    user_id      BLOB NOT NULL,
    n            INTEGER NOT NULL CHECK (n > 0),
    PRIMARY KEY (workspace_id, hour, user_id)
) STRICT, WITHOUT ROWID;

INSERT INTO screenshot_hours (workspace_id, hour, user_id, n)
    SELECT workspace_id, captured_ms / 3600000, user_id, count(*)
    FROM screenshots GROUP BY 1, 2, 3;

CREATE TRIGGER screenshot_hours_insert AFTER INSERT ON screenshots BEGIN
    INSERT INTO screenshot_hours (workspace_id, hour, user_id, n)
        VALUES (NEW.workspace_id, NEW.captured_ms / 3600000, NEW.user_id, 1)
        ON CONFLICT (workspace_id, hour, user_id) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER screenshot_hours_delete AFTER DELETE ON screenshots BEGIN
    DELETE FROM screenshot_hours
        WHERE workspace_id = OLD.workspace_id AND hour = OLD.captured_ms / 3600000
          AND user_id = OLD.user_id AND n = 1;
    UPDATE screenshot_hours SET n = n - 1
        WHERE workspace_id = OLD.workspace_id AND hour = OLD.captured_ms / 3600000
          AND user_id = OLD.user_id;
END;

CREATE TRIGGER screenshot_hours_no_move BEFORE UPDATE OF workspace_id, user_id, captured_ms
    ON screenshots BEGIN
    SELECT RAISE(ABORT, 'a screenshot''s workspace, owner and time never change');
END;
