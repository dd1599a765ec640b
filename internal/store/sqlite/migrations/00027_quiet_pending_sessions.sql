-- +goose Up
-- A pending session (a password accepted, a second factor awaited) is never
-- kept by a server's session cache, so its end — replaced by a full session
-- at every sign-in — needs no row in the change feed: a pending session
-- deleted, or updated and still pending, is no longer announced. (The
-- update trigger now also sees the method references change.)
DROP TRIGGER changes_sessions_delete;
DROP TRIGGER changes_sessions_update;

-- +goose StatementBegin
CREATE TRIGGER changes_sessions_delete AFTER DELETE ON sessions
WHEN OLD.state <> 'pending'
BEGIN
    INSERT INTO changes (what) VALUES ('u:' || OLD.user_id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER changes_sessions_update AFTER UPDATE ON sessions
WHEN NOT (OLD.state = 'pending' AND NEW.state = 'pending') AND (OLD.last_seen_at IS NEW.last_seen_at
    OR OLD.id IS NOT NEW.id OR OLD.token_hash IS NOT NEW.token_hash
    OR OLD.user_id IS NOT NEW.user_id OR OLD.state IS NOT NEW.state
    OR OLD.epoch IS NOT NEW.epoch OR OLD.expires_at IS NOT NEW.expires_at
    OR OLD.auth_at IS NOT NEW.auth_at OR OLD.method IS NOT NEW.method
    OR OLD.amr IS NOT NEW.amr)
BEGIN
    INSERT INTO changes (what) SELECT 'u:' || OLD.user_id UNION SELECT 'u:' || NEW.user_id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER changes_sessions_delete;
DROP TRIGGER changes_sessions_update;

-- +goose StatementBegin
CREATE TRIGGER changes_sessions_delete AFTER DELETE ON sessions
BEGIN
    INSERT INTO changes (what) VALUES ('u:' || OLD.user_id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER changes_sessions_update AFTER UPDATE ON sessions
WHEN OLD.last_seen_at IS NEW.last_seen_at
    OR OLD.id IS NOT NEW.id OR OLD.token_hash IS NOT NEW.token_hash
    OR OLD.user_id IS NOT NEW.user_id OR OLD.state IS NOT NEW.state
    OR OLD.epoch IS NOT NEW.epoch OR OLD.expires_at IS NOT NEW.expires_at
    OR OLD.auth_at IS NOT NEW.auth_at OR OLD.method IS NOT NEW.method
BEGIN
    INSERT INTO changes (what) SELECT 'u:' || OLD.user_id UNION SELECT 'u:' || NEW.user_id;
END;
-- +goose StatementEnd
