-- +goose Up
-- Capped sets of distinct values (the phone numbers an employee asked to
-- link in the current window). members holds the values, each followed by
-- a newline, after a leading newline: "\na\nb\n".
CREATE TABLE distinct_sets (
    key      text PRIMARY KEY,
    members  text NOT NULL,
    n        integer NOT NULL,
    first_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE distinct_sets;
