-- +goose Up
-- The change feed: every change that can end or alter a session, an
-- account or a workgroup membership leaves a row here, written by the
-- database itself in the same transaction, so no code path can forget it.
-- The writer reads and deletes the rows of each transaction just before it
-- commits and, once committed, tells the in-process listeners (nodes keeping
-- sessions in memory). The table is empty between transactions.
-- "what" is 'u:' followed by a user id.
CREATE TABLE changes (
    what TEXT NOT NULL
) STRICT;

-- +goose StatementBegin
CREATE TRIGGER changes_users_update AFTER UPDATE ON users
BEGIN
    INSERT INTO changes (what) VALUES ('u:' || OLD.id), ('u:' || NEW.id);
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
    INSERT INTO changes (what) VALUES ('u:' || OLD.user_id), ('u:' || NEW.user_id);
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
    INSERT INTO changes (what) VALUES ('u:' || OLD.user_id), ('u:' || NEW.user_id);
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
