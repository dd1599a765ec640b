-- +goose Up
-- One row per code sent by text message. The code itself is never stored,
-- only its keyed hash. A purpose ("login:<session>", "link:<user>", …) has at
-- most one live (unused, not voided) code: the partial unique index makes a
-- resend that races another one fail instead of sending twice.
CREATE TABLE sms_codes (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL,
    phone      TEXT NOT NULL,
    hash       BLOB NOT NULL,
    sent_at    INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    used_at    INTEGER,
    voided     INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX sms_codes_purpose ON sms_codes (purpose, sent_at);
CREATE INDEX sms_codes_user ON sms_codes (user_id, expires_at);
CREATE UNIQUE INDEX sms_codes_live ON sms_codes (purpose) WHERE used_at IS NULL AND voided = 0;

-- +goose Down
DROP TABLE sms_codes;
