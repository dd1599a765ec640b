-- +goose Up
-- Counters keyed by their key alone, without a rowid: one b-tree instead
-- of a table and its key's index, so a hit or a reset writes one page, not
-- two.
CREATE TABLE counters_new (
    key      TEXT PRIMARY KEY,
    n        INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    last_at  INTEGER NOT NULL,
    prev_at  INTEGER
) STRICT, WITHOUT ROWID;
INSERT INTO counters_new (key, n, first_at, last_at, prev_at) SELECT key, n, first_at, last_at, prev_at FROM counters;
DROP TABLE counters;
ALTER TABLE counters_new RENAME TO counters;

-- +goose Down
CREATE TABLE counters_old (
    key      TEXT PRIMARY KEY,
    n        INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    last_at  INTEGER NOT NULL,
    prev_at  INTEGER
) STRICT;
INSERT INTO counters_old (key, n, first_at, last_at, prev_at) SELECT key, n, first_at, last_at, prev_at FROM counters;
DROP TABLE counters;
ALTER TABLE counters_old RENAME TO counters;
