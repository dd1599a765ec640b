-- +goose Up
-- The language an employee chose ('' while they have not), and whether
-- they must choose a new password at their next sign-in (the first
-- administrator's generated one-time password).
ALTER TABLE users ADD COLUMN language text NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN password_change_required boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE users DROP COLUMN password_change_required;
ALTER TABLE users DROP COLUMN language;
