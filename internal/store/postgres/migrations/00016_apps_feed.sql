-- +goose Up
-- The change feed (00015) also announces every change of the registered
-- applications, which decide where forward-auth lets requests through.
-- +goose StatementBegin
CREATE FUNCTION deadbolt_apps_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM deadbolt_changed('apps');
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER changes_applications AFTER INSERT OR UPDATE OR DELETE ON applications
    FOR EACH STATEMENT EXECUTE FUNCTION deadbolt_apps_changed();
CREATE TRIGGER changes_application_workgroups AFTER INSERT OR UPDATE OR DELETE ON application_workgroups
    FOR EACH STATEMENT EXECUTE FUNCTION deadbolt_apps_changed();

-- +goose Down
DROP TRIGGER changes_application_workgroups ON application_workgroups;
DROP TRIGGER changes_applications ON applications;
DROP FUNCTION deadbolt_apps_changed();
