-- +goose Up
-- Capped sets of distinct values (the phone numbers an employee asked to
-- link in the current window). members holds the values, each followed by
-- a newline, after a leading newline: "\na\nb\n".
CREATE TABLE distinct_sets (
    key      TEXT PRIMARY KEY,
    members  TEXT NOT NULL,
    n        INTEGER NOT NULL,
    first_at INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE distinct_sets;
