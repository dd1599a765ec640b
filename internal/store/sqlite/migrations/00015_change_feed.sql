-- +goose Up
-- The change feed: every change that can end or alter a session, an
-- account or a workgroup membership leaves a row here, written by the
-- database itself in the same transaction, so no code path — and no other
-- process on the same file, such as "deadbolt admin" — can forget it.
-- The writer reads the rows of its own transactions just before it commits
-- and, once committed, tells its listeners (a server keeping sessions in
-- memory) before it answers; a poller reads the rows other processes
-- committed. Rows are numbered without gaps (AUTOINCREMENT, in commit
-- order: one writer at a time) and kept for a minute.
-- "what" is 'u:' followed by a user id; "at" is the wall-clock second.
CREATE TABLE changes (
    seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    what TEXT NOT NULL,
    at   INTEGER NOT NULL DEFAULT (unixepoch())
) STRICT;

-- +goose StatementBegin
CREATE TRIGGER changes_users_update AFTER UPDATE ON users
BEGIN
    INSERT INTO changes (what) SELECT 'u:' || OLD.id UNION SELECT 'u:' || NEW.id;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER changes_users_delete AFTER DELETE ON users
BEGIN
    INSERT INTO changes (what) VALUES ('u:' || OLD.id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER changes_sessions_delete AFTER DELETE ON sessions
BEGIN
    INSERT INTO changes (what) VALUES ('u:' || OLD.user_id);
END;
-- +goose StatementEnd

-- Every update but the idle-time one (last_seen_at moving alone).
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

-- +goose StatementBegin
CREATE TRIGGER changes_members_insert AFTER INSERT ON workgroup_members
BEGIN
    INSERT INTO changes (what) VALUES ('u:' || NEW.user_id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER changes_members_delete AFTER DELETE ON workgroup_members
BEGIN
    INSERT INTO changes (what) VALUES ('u:' || OLD.user_id);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER changes_members_update AFTER UPDATE ON workgroup_members
BEGIN
    INSERT INTO changes (what) SELECT 'u:' || OLD.user_id UNION SELECT 'u:' || NEW.user_id;
END;
-- +goose StatementEnd

-- A renamed workgroup changes what its members' sessions carry.
-- +goose StatementBegin
CREATE TRIGGER changes_workgroups_update AFTER UPDATE OF name ON workgroups
BEGIN
    INSERT INTO changes (what) SELECT 'u:' || user_id FROM workgroup_members WHERE workgroup_id = NEW.id;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER changes_workgroups_update;
DROP TRIGGER changes_members_update;
DROP TRIGGER changes_members_delete;
DROP TRIGGER changes_members_insert;
DROP TRIGGER changes_sessions_update;
DROP TRIGGER changes_sessions_delete;
DROP TRIGGER changes_users_delete;
DROP TRIGGER changes_users_update;
DROP TABLE changes;
