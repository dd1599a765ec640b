-- +goose Up
-- The OpenID Connect provider: signing keys, pending authorization
-- requests, grants (an app's tie to the SSO session it got a code from),
-- codes and tokens. Codes and tokens are stored under the SHA-256 of their
-- value; a code's hash also names the chain of tokens its exchange starts.
CREATE TABLE oidc_keys (
    id          text PRIMARY KEY,
    private_key bytea NOT NULL,
    created_at  timestamptz NOT NULL,
    retired_at  timestamptz,
    -- true on the key made at first start: unique, so that nodes starting
    -- together make one.
    first       boolean UNIQUE
);

CREATE TABLE oidc_requests (
    id         text PRIMARY KEY,
    app_id     text NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    params     text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX oidc_requests_expires ON oidc_requests (expires_at);

CREATE TABLE oidc_grants (
    id                     text PRIMARY KEY,
    session_id             text NOT NULL,
    user_id                text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    app_id                 text NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    created_at             timestamptz NOT NULL,
    tokens_issued          boolean NOT NULL DEFAULT false,
    logout_attempts        integer NOT NULL DEFAULT 0,
    logout_first_at        timestamptz,
    logout_next_at         timestamptz,
    logout_claimed_until   timestamptz,
    logout_done_at         timestamptz,
    logout_failed          boolean NOT NULL DEFAULT false,
    logout_error           text NOT NULL DEFAULT '',
    UNIQUE (session_id, app_id)
);
CREATE INDEX oidc_grants_pending ON oidc_grants (logout_done_at, tokens_issued);
CREATE INDEX oidc_grants_user ON oidc_grants (user_id);
CREATE INDEX oidc_grants_failed ON oidc_grants (logout_attempts) WHERE logout_error <> '';

CREATE TABLE oidc_codes (
    hash           bytea PRIMARY KEY,
    grant_id       text NOT NULL REFERENCES oidc_grants (id) ON DELETE CASCADE,
    redirect_uri   text NOT NULL,
    scope          text NOT NULL,
    nonce          text NOT NULL DEFAULT '',
    code_challenge text NOT NULL DEFAULT '',
    auth_time      timestamptz NOT NULL,
    amr            text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    used_at        timestamptz,
    revoked_at     timestamptz
);
CREATE INDEX oidc_codes_grant ON oidc_codes (grant_id);

CREATE TABLE oidc_tokens (
    hash       bytea PRIMARY KEY,
    chain      bytea NOT NULL REFERENCES oidc_codes (hash) ON DELETE CASCADE,
    grant_id   text NOT NULL REFERENCES oidc_grants (id) ON DELETE CASCADE,
    kind       text NOT NULL,
    scope      text NOT NULL,
    auth_time  timestamptz NOT NULL,
    amr        text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX oidc_tokens_chain ON oidc_tokens (chain);
CREATE INDEX oidc_tokens_grant ON oidc_tokens (grant_id);
CREATE INDEX oidc_tokens_expires ON oidc_tokens (kind, expires_at);

-- +goose Down
DROP TABLE oidc_tokens;
DROP TABLE oidc_codes;
DROP TABLE oidc_grants;
DROP TABLE oidc_requests;
DROP TABLE oidc_keys;
