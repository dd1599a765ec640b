-- +goose Up
-- The OpenID Connect provider: signing keys, pending authorization
-- requests, grants (an app's tie to the SSO session it got a code from),
-- codes and tokens. Codes and tokens are stored under the SHA-256 of their
-- value; a code's hash also names the chain of tokens its exchange starts.
CREATE TABLE oidc_keys (
    id          TEXT PRIMARY KEY,
    private_key BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    retired_at  INTEGER,
    -- 1 on the key made at first start: unique, so that nodes starting
    -- together make one.
    first       INTEGER UNIQUE
) STRICT;

CREATE TABLE oidc_requests (
    id         TEXT PRIMARY KEY,
    app_id     TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    params     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX oidc_requests_expires ON oidc_requests (expires_at);

CREATE TABLE oidc_grants (
    id                     TEXT PRIMARY KEY,
    session_id             TEXT NOT NULL,
    user_id                TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    app_id                 TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    created_at             INTEGER NOT NULL,
    tokens_issued          INTEGER NOT NULL DEFAULT 0,
    logout_attempts        INTEGER NOT NULL DEFAULT 0,
    logout_first_at        INTEGER,
    logout_next_at         INTEGER,
    logout_claimed_until   INTEGER,
    logout_done_at         INTEGER,
    logout_failed          INTEGER NOT NULL DEFAULT 0,
    logout_error           TEXT NOT NULL DEFAULT '',
    UNIQUE (session_id, app_id)
) STRICT;
CREATE INDEX oidc_grants_pending ON oidc_grants (logout_done_at, tokens_issued);
CREATE INDEX oidc_grants_user ON oidc_grants (user_id);
CREATE INDEX oidc_grants_failed ON oidc_grants (logout_attempts) WHERE logout_error <> '';

CREATE TABLE oidc_codes (
    hash           BLOB PRIMARY KEY,
    grant_id       TEXT NOT NULL REFERENCES oidc_grants (id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    nonce          TEXT NOT NULL DEFAULT '',
    code_challenge TEXT NOT NULL DEFAULT '',
    auth_time      INTEGER NOT NULL,
    amr            TEXT NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER,
    revoked_at     INTEGER
) STRICT;
CREATE INDEX oidc_codes_grant ON oidc_codes (grant_id);

CREATE TABLE oidc_tokens (
    hash       BLOB PRIMARY KEY,
    chain      BLOB NOT NULL REFERENCES oidc_codes (hash) ON DELETE CASCADE,
    grant_id   TEXT NOT NULL REFERENCES oidc_grants (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    scope      TEXT NOT NULL,
    auth_time  INTEGER NOT NULL,
    amr        TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;
CREATE INDEX oidc_tokens_chain ON oidc_tokens (chain);
CREATE INDEX oidc_tokens_grant ON oidc_tokens (grant_id);
CREATE INDEX oidc_tokens_expires ON oidc_tokens (kind, expires_at);

-- +goose Down
DROP TABLE oidc_tokens;
DROP TABLE oidc_codes;
DROP TABLE oidc_grants;
DROP TABLE oidc_requests;
DROP TABLE oidc_keys;
