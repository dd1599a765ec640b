-- +goose Up
-- WebAuthn credentials (SPEC §14): the credential record each assertion
-- is checked against. The credential id is unique across all employees.
CREATE TABLE passkeys (
    id                 text PRIMARY KEY,
    user_id            text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id      bytea NOT NULL CONSTRAINT passkeys_credential_id_key UNIQUE,
    public_key         bytea NOT NULL,
    sign_count         bigint NOT NULL DEFAULT 0,
    aaguid             bytea NOT NULL,
    backup_eligible    boolean NOT NULL DEFAULT false,
    backup_state       boolean NOT NULL DEFAULT false,
    user_verified      boolean NOT NULL DEFAULT false,
    transports         text NOT NULL DEFAULT '',
    attestation_format text NOT NULL DEFAULT '',
    name               text NOT NULL,
    created_at         timestamptz NOT NULL,
    last_used_at       timestamptz
);
CREATE INDEX passkeys_user ON passkeys (user_id, created_at);

-- Ceremonies in flight: any node finishes what another began. Each
-- challenge works once.
CREATE TABLE passkey_challenges (
    id         text PRIMARY KEY,
    challenge  text NOT NULL CONSTRAINT passkey_challenges_challenge_key UNIQUE,
    purpose    text NOT NULL,
    user_id    text NOT NULL DEFAULT '',
    ceremony   bytea NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX passkey_challenges_expiry ON passkey_challenges (expires_at);

-- +goose Down
DROP TABLE passkey_challenges;
DROP TABLE passkeys;
