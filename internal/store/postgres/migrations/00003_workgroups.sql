-- +goose Up
CREATE TABLE workgroups (
    id                text PRIMARY KEY,
    name              text NOT NULL,
    name_key          text NOT NULL CONSTRAINT workgroups_name_key UNIQUE,
    created_at        timestamptz NOT NULL,
    required          boolean NOT NULL DEFAULT false,
    deadline          timestamptz,
    paused_until      timestamptz,
    paused            boolean NOT NULL DEFAULT false,
    after_deadline    text NOT NULL DEFAULT '',
    policy_updated_at timestamptz
);

CREATE TABLE workgroup_members (
    workgroup_id text NOT NULL REFERENCES workgroups (id) ON DELETE CASCADE,
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    added_at     timestamptz NOT NULL,
    PRIMARY KEY (workgroup_id, user_id)
);
CREATE INDEX workgroup_members_user ON workgroup_members (user_id);

CREATE TABLE banner_dismissals (
    user_id      text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         text NOT NULL,
    dismissed_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- +goose Down
DROP TABLE banner_dismissals;
DROP TABLE workgroup_members;
DROP TABLE workgroups;
