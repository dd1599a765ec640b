-- +goose Up
CREATE TABLE users (
    id                     TEXT PRIMARY KEY,
    login                  TEXT NOT NULL UNIQUE,
    name                   TEXT NOT NULL DEFAULT '',
    admin                  INTEGER NOT NULL DEFAULT 0,
    active                 INTEGER NOT NULL DEFAULT 1,
    password_hash          TEXT NOT NULL,
    session_epoch          INTEGER NOT NULL DEFAULT 0,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    two_factor_since       INTEGER,
    totp_last_step         INTEGER NOT NULL DEFAULT 0,
    phone                  TEXT UNIQUE,
    device_disconnected_at INTEGER,
    last_confirmed_at      INTEGER,
    exempt_until           INTEGER
) STRICT;

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    token_hash   BLOB NOT NULL UNIQUE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state        TEXT NOT NULL,
    epoch        INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    auth_at      INTEGER NOT NULL,
    method       TEXT NOT NULL DEFAULT '',
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE counters (
    key      TEXT PRIMARY KEY,
    n        INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    last_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE events (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    type     TEXT NOT NULL,
    at       INTEGER NOT NULL,
    user_id  TEXT NOT NULL DEFAULT '',
    actor_id TEXT NOT NULL DEFAULT '',
    ip       TEXT NOT NULL DEFAULT '',
    detail   TEXT NOT NULL DEFAULT '{}'
) STRICT;
CREATE INDEX events_user ON events (user_id, id);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE pairings (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;
CREATE INDEX pairings_user ON pairings (user_id);

CREATE TABLE devices (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    pairing_id      TEXT NOT NULL UNIQUE,
    token_hash      BLOB NOT NULL UNIQUE,
    name            TEXT NOT NULL DEFAULT '',
    platform        TEXT NOT NULL DEFAULT '',
    public_key      BLOB NOT NULL,
    totp_secret     BLOB NOT NULL,
    webpush         TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    confirmed_at    INTEGER,
    disconnected_at INTEGER
) STRICT;
CREATE INDEX devices_user ON devices (user_id);

CREATE TABLE recovery_codes (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash       BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    UNIQUE (user_id, hash)
) STRICT;

CREATE TABLE captchas (
    id         TEXT PRIMARY KEY,
    digits     BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
) STRICT;

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
