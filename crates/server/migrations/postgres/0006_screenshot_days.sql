-- Screenshots per workspace, UTC day and user, kept by triggers beside screenshot_hours, so a
-- day's per-member counts (R17) read one row per member for the whole UTC days they cover
-- (an admin's day of 1,000 members: 1,000 rows instead of 24,000 hourly ones). The hours
-- still answer the parts of a day in a zone off UTC midnight. Every insert and delete of a
-- screenshot goes through the triggers (migration 0001 refuses moving one). Instants are
-- after 2000 (the service refuses older ones), so integer division is the floor.

CREATE TABLE screenshot_days (
    workspace_id uuid NOT NULL,
    day          bigint NOT NULL, -- captured_ms / 86400000
    user_id      uuid NOT NULL,
    n            bigint NOT NULL CHECK (n > 0),
    PRIMARY KEY (workspace_id, day, user_id)
);

INSERT INTO screenshot_days (workspace_id, day, user_id, n)
    SELECT workspace_id, captured_ms / 86400000, user_id, count(*)
    FROM screenshots GROUP BY 1, 2, 3;

CREATE FUNCTION screenshot_days_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO screenshot_days (workspace_id, day, user_id, n)
        VALUES (NEW.workspace_id, NEW.captured_ms / 86400000, NEW.user_id, 1)
        ON CONFLICT (workspace_id, day, user_id)
        DO UPDATE SET n = screenshot_days.n + 1;
    RETURN NULL;
END;
$$;

CREATE FUNCTION screenshot_days_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM screenshot_days
        WHERE workspace_id = OLD.workspace_id AND day = OLD.captured_ms / 86400000
          AND user_id = OLD.user_id AND n = 1;
    UPDATE screenshot_days SET n = n - 1
        WHERE workspace_id = OLD.workspace_id AND day = OLD.captured_ms / 86400000
          AND user_id = OLD.user_id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER screenshot_days_insert AFTER INSERT ON screenshots
    FOR EACH ROW EXECUTE FUNCTION screenshot_days_insert();
CREATE TRIGGER screenshot_days_delete AFTER DELETE ON screenshots
    FOR EACH ROW EXECUTE FUNCTION screenshot_days_delete();
