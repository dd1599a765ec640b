-- +goose Up
-- The change feed (00015) also announces every change of the registered
-- applications, which decide where forward-auth lets requests through.
-- +goose StatementBegin
CREATE TRIGGER changes_applications_insert AFTER INSERT ON applications
BEGIN
    INSERT INTO changes (what) VALUES ('apps');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER changes_applications_update AFTER UPDATE ON applications
BEGIN
    INSERT INTO changes (what) VALUES ('apps');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER changes_applications_delete AFTER DELETE ON applications
BEGIN
    INSERT INTO changes (what) VALUES ('apps');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER changes_application_workgroups_insert AFTER INSERT ON application_workgroups
BEGIN
    INSERT INTO changes (what) VALUES ('apps');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER changes_application_workgroups_delete AFTER DELETE ON application_workgroups
BEGIN
    INSERT INTO changes (what) VALUES ('apps');
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER changes_application_workgroups_update AFTER UPDATE ON application_workgroups
BEGIN
    INSERT INTO changes (what) VALUES ('apps');
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER changes_application_workgroups_update;
DROP TRIGGER changes_application_workgroups_delete;
DROP TRIGGER changes_application_workgroups_insert;
DROP TRIGGER changes_applications_delete;
DROP TRIGGER changes_applications_update;
DROP TRIGGER changes_applications_insert;
