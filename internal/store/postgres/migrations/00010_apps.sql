-- +goose Up
ALTER TABLE users ADD COLUMN email text NOT NULL DEFAULT '';

-- How each session was proven (RFC 8176 method references, space-separated).
ALTER TABLE sessions ADD COLUMN amr text NOT NULL DEFAULT '';
UPDATE sessions SET amr = CASE method
    WHEN 'push' THEN 'pwd swk mfa'
    WHEN 'totp' THEN 'pwd otp mfa'
    WHEN 'recovery' THEN 'pwd otp mfa'
    WHEN 'sms' THEN 'pwd sms mfa'
    ELSE 'pwd' END;

CREATE TABLE applications (
    id                        text PRIMARY KEY,
    name                      text NOT NULL,
    name_key                  text NOT NULL CONSTRAINT applications_name_key UNIQUE,
    kind                      text NOT NULL,
    client_id                 text CONSTRAINT applications_client_id_key UNIQUE,
    secret_hash               bytea,
    secret_set_at             timestamptz,
    public                    boolean NOT NULL DEFAULT false,
    redirect_uris             jsonb NOT NULL DEFAULT '[]',
    post_logout_redirect_uris jsonb NOT NULL DEFAULT '[]',
    backchannel_logout_uri    text NOT NULL DEFAULT '',
    domains                   jsonb NOT NULL DEFAULT '[]',
    require_2fa               boolean NOT NULL DEFAULT false,
    created_at                timestamptz NOT NULL,
    updated_at                timestamptz NOT NULL
);

-- A workgroup an app admits cannot be deleted while the app names it: an
-- app restricted to workgroups must never fall open to everyone.
CREATE TABLE application_workgroups (
    app_id       text NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    workgroup_id text NOT NULL CONSTRAINT application_workgroups_workgroup_fkey REFERENCES workgroups (id),
    PRIMARY KEY (app_id, workgroup_id)
);
CREATE INDEX application_workgroups_workgroup ON application_workgroups (workgroup_id);

-- +goose Down
DROP TABLE application_workgroups;
DROP TABLE applications;
ALTER TABLE sessions DROP COLUMN amr;
ALTER TABLE users DROP COLUMN email;
