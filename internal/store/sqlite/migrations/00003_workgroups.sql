-- +goose Up
CREATE TABLE workgroups (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    name_key          TEXT NOT NULL UNIQUE,
    created_at        INTEGER NOT NULL,
    required          INTEGER NOT NULL DEFAULT 0,
    deadline          INTEGER,
    paused_until      INTEGER,
    paused            INTEGER NOT NULL DEFAULT 0,
    after_deadline    TEXT NOT NULL DEFAULT '',
    policy_updated_at INTEGER
) STRICT;

CREATE TABLE workgroup_members (
    workgroup_id TEXT NOT NULL REFERENCES workgroups (id) ON DELETE CASCADE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at     INTEGER NOT NULL,
    PRIMARY KEY (workgroup_id, user_id)
) STRICT;
CREATE INDEX workgroup_members_user ON workgroup_members (user_id);

CREATE TABLE banner_dismissals (
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    dismissed_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, kind)
) STRICT;

-- +goose Down
DROP TABLE banner_dismissals;
DROP TABLE workgroup_members;
DROP TABLE workgroups;
