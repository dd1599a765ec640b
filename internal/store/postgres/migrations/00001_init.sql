-- +goose Up
CREATE TABLE users (
    id                     text PRIMARY KEY,
    login                  text NOT NULL CONSTRAINT users_login_key UNIQUE,
    name                   text NOT NULL DEFAULT '',
    admin                  boolean NOT NULL DEFAULT false,
    active                 boolean NOT NULL DEFAULT true,
    password_hash          text NOT NULL,
    session_epoch          bigint NOT NULL DEFAULT 0,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    two_factor_since       timestamptz,
    totp_last_step         bigint NOT NULL DEFAULT 0,
    phone                  text CONSTRAINT users_phone_key UNIQUE,
    device_disconnected_at timestamptz,
    last_confirmed_at      timestamptz,
    exempt_until           timestamptz
);

CREATE TABLE sessions (
    id           text PRIMARY KEY,
    token_hash   bytea NOT NULL UNIQUE,
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state        text NOT NULL,
    epoch        bigint NOT NULL,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    auth_at      timestamptz NOT NULL,
    method       text NOT NULL DEFAULT '',
    ip           text NOT NULL DEFAULT '',
    user_agent   text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE counters (
    key      text PRIMARY KEY,
    n        bigint NOT NULL,
    first_at timestamptz NOT NULL,
    last_at  timestamptz NOT NULL
);

CREATE TABLE events (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type     text NOT NULL,
    at       timestamptz NOT NULL,
    user_id  text NOT NULL DEFAULT '',
    actor_id text NOT NULL DEFAULT '',
    ip       text NOT NULL DEFAULT '',
    detail   jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX events_user ON events (user_id, id);

CREATE TABLE settings (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE pairings (
    id         text PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX pairings_user ON pairings (user_id);

CREATE TABLE devices (
    id              text PRIMARY KEY,
    user_id         text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    pairing_id      text NOT NULL UNIQUE,
    token_hash      bytea NOT NULL UNIQUE,
    name            text NOT NULL DEFAULT '',
    platform        text NOT NULL DEFAULT '',
    public_key      bytea NOT NULL,
    totp_secret     bytea NOT NULL,
    webpush         text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    confirmed_at    timestamptz,
    disconnected_at timestamptz
);
CREATE INDEX devices_user ON devices (user_id);

CREATE TABLE recovery_codes (
    id         text PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash       bytea NOT NULL,
    created_at timestamptz NOT NULL,
    used_at    timestamptz,
    UNIQUE (user_id, hash)
);

CREATE TABLE captchas (
    id         text PRIMARY KEY,
    digits     bytea NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

-- +goose Down
DROP TABLE captchas;
DROP TABLE recovery_codes;
DROP TABLE devices;
DROP TABLE pairings;
DROP TABLE settings;
DROP TABLE events;
DROP TABLE counters;
DROP TABLE sessions;
DROP TABLE users;
