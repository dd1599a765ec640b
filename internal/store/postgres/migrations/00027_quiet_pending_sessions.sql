-- +goose Up
-- A pending session (a password accepted, a second factor awaited) is never
-- kept by a node's session cache, so its end — replaced by a full session
-- at every sign-in — needs no announcement: the change feed no longer
-- announces a pending session that is deleted or stays pending.

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION deadbolt_session_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (to_jsonb(OLD) - 'last_seen_at') = (to_jsonb(NEW) - 'last_seen_at') THEN
        RETURN NULL;
    END IF;
    IF OLD.state = 'pending' AND (TG_OP = 'DELETE' OR NEW.state = 'pending') THEN
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

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION deadbolt_session_changed() RETURNS trigger
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
