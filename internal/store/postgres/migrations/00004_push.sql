-- +goose Up
CREATE TABLE push_requests (
    id         text PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id text NOT NULL,
    device_id  text NOT NULL,
    number     integer NOT NULL,
    context    jsonb NOT NULL DEFAULT '{}',
    status     text NOT NULL,
    reported   boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    decided_at timestamptz
);
CREATE INDEX push_requests_user ON push_requests (user_id, status);
CREATE INDEX push_requests_session ON push_requests (session_id, status);

-- +goose Down
DROP TABLE push_requests;
