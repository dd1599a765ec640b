-- +goose Up
CREATE TABLE push_requests (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    number     INTEGER NOT NULL,
    context    TEXT NOT NULL DEFAULT '{}',
    status     TEXT NOT NULL,
    reported   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    decided_at INTEGER
) STRICT;
CREATE INDEX push_requests_user ON push_requests (user_id, status);
CREATE INDEX push_requests_session ON push_requests (session_id, status);

-- +goose Down
DROP TABLE push_requests;
