-- +goose Up
-- The change feed: every change that can end or alter a session, an
-- account or a workgroup membership is announced by the database itself,
-- in the same transaction (pg_notify is delivered only if it commits), so
-- no code path can forget it. Each announcement goes out twice:
--   deadbolt_changes       to every node's listening connection;
--   deadbolt_self_<pid>    to the connection that made the change, which
--                          listens on it and receives it before its COMMIT
--                          returns — so the node that ends a session has
--                          forgotten it before it answers.
-- The payload is 'u:' followed by a user id.

-- +goose StatementBegin
CREATE FUNCTION deadbolt_changed(what text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('deadbolt_changes', what);
    PERFORM pg_notify('deadbolt_self_' || pg_backend_pid(), what);
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION deadbolt_user_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM deadbolt_changed('u:' || OLD.id);
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.id IS DISTINCT FROM OLD.id THEN
        PERFORM deadbolt_changed('u:' || NEW.id);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- Sessions: every delete, and every update but the idle-time one
-- (last_seen_at moving alone; whole rows are compared, so a column added
-- later is covered without touching this function).
-- +goose StatementBegin
CREATE FUNCTION deadbolt_session_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (to_jsonb(OLD) - 'last_seen_at') = (to_jsonb(NEW) - 'last_seen_at') THEN
        RETURN NULL;
    END IF;
    PERFORM deadbolt_changed('u:' || OLD.user_id);
    IF TG_OP = 'UPDATE' AND NEW.user_id IS DISTINCT FROM OLD.user_id THEN
        PERFORM deadbolt_changed('u:' || NEW.user_id);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION deadbolt_member_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM deadbolt_changed('u:' || OLD.user_id);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM deadbolt_changed('u:' || NEW.user_id);
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- A renamed workgroup changes what its members' sessions carry.
-- +goose StatementBegin
CREATE FUNCTION deadbolt_workgroup_renamed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM deadbolt_changed('u:' || user_id) FROM workgroup_members WHERE workgroup_id = NEW.id;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER changes_users AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION deadbolt_user_changed();
CREATE TRIGGER changes_sessions AFTER UPDATE OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION deadbolt_session_changed();
CREATE TRIGGER changes_members AFTER INSERT OR UPDATE OR DELETE ON workgroup_members
    FOR EACH ROW EXECUTE FUNCTION deadbolt_member_changed();
CREATE TRIGGER changes_workgroups AFTER UPDATE OF name ON workgroups
    FOR EACH ROW EXECUTE FUNCTION deadbolt_workgroup_renamed();

-- +goose Down
DROP TRIGGER changes_workgroups ON workgroups;
DROP TRIGGER changes_members ON workgroup_members;
DROP TRIGGER changes_sessions ON sessions;
DROP TRIGGER changes_users ON users;
DROP FUNCTION deadbolt_workgroup_renamed();
DROP FUNCTION deadbolt_member_changed();
DROP FUNCTION deadbolt_session_changed();
DROP FUNCTION deadbolt_user_changed();
DROP FUNCTION deadbolt_changed(text);
