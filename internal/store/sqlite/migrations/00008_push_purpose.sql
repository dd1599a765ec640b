-- +goose Up
-- What a push request asks: to complete a pending sign-in, or to renew the
-- fresh proof of a full session before a factor change.
ALTER TABLE push_requests ADD COLUMN purpose TEXT NOT NULL DEFAULT 'sign_in';

-- +goose Down
ALTER TABLE push_requests DROP COLUMN purpose;
