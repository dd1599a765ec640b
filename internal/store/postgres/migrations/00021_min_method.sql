-- +goose Up
-- The weakest second factor a workgroup's policy accepts once its
-- deadline has passed: '' or 'any', 'no_sms', 'phishing_resistant'.
ALTER TABLE workgroups ADD COLUMN min_method text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE workgroups DROP COLUMN min_method;
