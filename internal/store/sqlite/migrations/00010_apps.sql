-- +goose Up
ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';

-- How each session was proven (RFC 8176 method references, space-separated).
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '';
UPDATE sessions SET amr = CASE method
    WHEN 'push' THEN 'pwd swk mfa'
    WHEN 'totp' THEN 'pwd otp mfa'
    WHEN 'recovery' THEN 'pwd otp mfa'
    WHEN 'sms' THEN 'pwd sms mfa'
    ELSE 'pwd' END;

CREATE TABLE applications (
    id                        TEXT PRIMARY KEY,
    name                      TEXT NOT NULL,
    name_key                  TEXT NOT NULL UNIQUE,
    kind                      TEXT NOT NULL,
    client_id                 TEXT UNIQUE,
    secret_hash               BLOB,
    secret_set_at             INTEGER,
    public                    INTEGER NOT NULL DEFAULT 0,
    redirect_uris             TEXT NOT NULL DEFAULT '[]',
    post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]',
    backchannel_logout_uri    TEXT NOT NULL DEFAULT '',
    domains                   TEXT NOT NULL DEFAULT '[]',
    require_2fa               INTEGER NOT NULL DEFAULT 0,
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL
) STRICT;

-- A workgroup an app admits cannot be deleted while the app names it: an
-- app restricted to workgroups must never fall open to everyone.
CREATE TABLE application_workgroups (
    app_id       TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    workgroup_id TEXT NOT NULL REFERENCES workgroups (id),
    PRIMARY KEY (app_id, workgroup_id)
) STRICT;
CREATE INDEX application_workgroups_workgroup ON application_workgroups (workgroup_id);

-- +goose Down
DROP TABLE application_workgroups;
DROP TABLE applications;
ALTER TABLE sessions DROP COLUMN amr;
ALTER TABLE users DROP COLUMN email;
