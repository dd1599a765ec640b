-- +goose Up
-- The hit before the last one, so that a counter hit can tell in the same
-- statement how long ago the previous attempt was.
ALTER TABLE counters ADD COLUMN prev_at INTEGER;

-- +goose Down
ALTER TABLE counters DROP COLUMN prev_at;
